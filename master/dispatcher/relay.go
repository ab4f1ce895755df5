package dispatcher

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/peer"
)

// relayInterval is how often a follower hands the heartbeats it answered
// to the leader: small next to a node's timeout (three heartbeats).
const relayInterval = 200 * time.Millisecond

// beatRelay gathers the heartbeats a follower answered itself. Agents
// spread over every master, but heartbeats live in the leader's memory:
// forwarding each one would cost the leader a request per node per
// heartbeat; a batch costs it one per follower per relayInterval.
type beatRelay struct {
	mu    sync.Mutex
	nodes map[string]struct{}
}

func (b *beatRelay) add(node string) {
	b.mu.Lock()
	if b.nodes == nil {
		b.nodes = map[string]struct{}{}
	}
	b.nodes[node] = struct{}{}
	b.mu.Unlock()
}

func (b *beatRelay) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, 0, len(b.nodes))
	for n := range b.nodes {
		out = append(out, n)
	}
	clear(b.nodes)
	return out
}

// relayStats counts what a follower did with heartbeats, for metrics and
// for logging its falls out of touch with the leader once each.
type relayStats struct {
	ok, failed, cutOff  atomic.Uint64
	outOfTouch, failing atomic.Bool
}

// RunBeatRelay hands the heartbeats this master answered as a follower to
// the leader through send, every relayInterval, until ctx ends. A batch
// that fails is dropped: the nodes beat again within a second.
func (d *Dispatcher) RunBeatRelay(ctx context.Context, send func(context.Context, []string) error) {
	tick := time.NewTicker(relayInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		nodes := d.relay.take()
		if len(nodes) == 0 {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := send(sctx, nodes); err != nil {
			d.relayed.failed.Add(1)
			// Once per run of failures: an election fails five a second.
			if !d.relayed.failing.Swap(true) {
				d.log.Warn("relaying heartbeats to the leader failed", "nodes", len(nodes), "err", err)
			}
		} else {
			d.relayed.ok.Add(1)
			if d.relayed.failing.Swap(false) {
				d.log.Info("relaying heartbeats to the leader again")
			}
		}
		cancel()
	}
}

// relayedBeats takes a follower's batch of heartbeats (the leader's side).
func (d *Dispatcher) relayedBeats(w http.ResponseWriter, r *http.Request) {
	var in peer.Beats
	if err := json.NewDecoder(io.LimitReader(r.Body, 16<<20)).Decode(&in); err != nil {
		api.WriteError(w, &api.Error{Code: "invalid", Message: "beats: " + err.Error(), Status: http.StatusBadRequest})
		return
	}
	if !d.leads() {
		api.WriteError(w, &api.Error{Code: api.CodeNoLeader, Message: "this master does not lead: heartbeats are the leader's", Status: http.StatusServiceUnavailable})
		return
	}
	d.Beat(in.Nodes)
	w.WriteHeader(http.StatusNoContent)
}

// Beat records a heartbeat of each node the store knows.
func (d *Dispatcher) Beat(nodes []string) {
	known := nodes[:0:0]
	for _, id := range nodes {
		if d.deps.Store.Node(id) != nil {
			known = append(known, id)
		}
	}
	d.beat(known...)
}

func (d *Dispatcher) leads() bool { return d.deps.IsLeader == nil || d.deps.IsLeader() }

// leaderContactLimit is how long a follower may go without hearing from
// the leader and still answer heartbeats itself. A follower cut off from
// the leader and not from its agents would otherwise take their
// heartbeats, relay them nowhere, and the leader would mark every one of
// its nodes down for as long as the partition lasts. It is well past an
// election, even on a loaded machine: when the leader dies, every follower
// is out of touch until the next one is elected, and one that sent its
// agents away meanwhile would start a reconnect storm (at 2 s, a leader
// killed at 2,000 nodes took 17 s to be rejoined by every node, against
// under 6). Past it, the nodes of a follower that is cut off go down for
// a moment and come back through another master.
const leaderContactLimit = 10 * time.Second

// inTouchWithLeader reports whether this follower heard from the leader
// lately.
func (d *Dispatcher) inTouchWithLeader() bool {
	if d.deps.LeaderContact == nil {
		return true
	}
	last := d.deps.LeaderContact()
	in := !last.IsZero() && d.deps.Now().Sub(last) < leaderContactLimit
	if was := d.relayed.outOfTouch.Swap(!in); was == in { // a change
		if in {
			d.log.Info("the leader is heard again: this follower takes heartbeats again")
		} else {
			d.log.Warn("no word from the leader: this follower takes no heartbeats, its agents beat through another master", "last_contact", last)
		}
	}
	return in
}

// statusAtFollower answers a report that reached a follower: a bare
// heartbeat (nothing changed) it takes itself, for the relay, while it is
// in touch with the leader; anything else, and anything it cannot vouch
// for (a node it does not know yet), goes to the leader, which decides
// (or fails, and the agent moves on).
func (d *Dispatcher) statusAtFollower(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		api.WriteError(w, &api.Error{Code: "invalid", Message: "read body: " + err.Error(), Status: http.StatusBadRequest})
		return
	}
	if node, e := d.callerNode(r); e == nil && d.inTouchWithLeader() {
		report, e := decodeStatusReport(body, node.GetId())
		if e == nil && report.Bare() {
			d.relay.add(node.GetId())
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	d.deps.Forward(w, r)
}
