package dispatcher

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	orchpb "github.com/orch-io/orch/proto"
)

// headerAssignments tells an agent which form its stream has: "delta" when
// the master honoured ?delta=true. A v0.1.0 master sends no such header
// and whole sets.
const headerAssignments = "X-Orch-Assignments"

// deltaAssignments streams the node's set in the delta form: the whole set
// (or, when since names the set the agent already holds, an empty delta),
// then each change, and a keepalive every resendInterval.
func (d *Dispatcher) deltaAssignments(w http.ResponseWriter, r *http.Request, nodeID string, withPeers bool, since uint64) {
	sub, cancel := d.streams.subscribe(nodeID, withPeers)
	defer cancel()
	changed := sub.ch
	w.Header().Set(headerAssignments, "delta")
	state := newDeltaState(nodeID, withPeers)
	// The first message waits for the peer table's first listing, which
	// wakes every stream.
	var first *orchpb.AssignmentSet
	for first == nil {
		first = d.firstDelta(state, since)
		if first != nil {
			break
		}
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		}
	}
	stream := d.startDelimitedStream(w, "delta")
	if !stream.send(first) {
		return
	}
	keepalive := time.NewTicker(resendInterval)
	defer keepalive.Stop()
	for {
		var msg *orchpb.AssignmentSet
		select {
		case <-r.Context().Done():
			return
		case <-changed:
			if !coalescePeers(r.Context(), sub, changed, state.withPeers, peerCoalesce) {
				return
			}
			if !d.slots.do(r.Context(), func() { msg = d.nextDelta(state, sub) }) {
				return
			}
			if msg == nil {
				continue
			}
			keepalive.Reset(resendInterval)
		case <-keepalive.C:
			msg = state.keepalive()
		}
		if !stream.send(msg) {
			return
		}
	}
}

// peerCoalesce is how long a stream woken by peer changes alone waits for
// more before it sends them: nodes join and leave in bursts (thousands at a
// cluster's start or a rack's loss), and each change wakes every stream
// that carries peers, so a window turns a burst into one message per
// stream. A change to the node's own set ends the wait at once.
const peerCoalesce = 250 * time.Millisecond

// coalescePeers waits, when only peers changed, until window passed or the
// node's own set changed. It is false when ctx ended.
func coalescePeers(ctx context.Context, sub *subscriber, changed <-chan struct{}, withPeers bool, window time.Duration) bool {
	if !withPeers || sub.own.Load() {
		return true
	}
	timer := time.NewTimer(window)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		case <-changed:
			if sub.own.Load() {
				return true
			}
		}
	}
}

// nextDelta is the message a woken stream sends, or nil. When only peers
// changed it reads nothing but the peer table's log.
func (d *Dispatcher) nextDelta(state *deltaState, sub *subscriber) *orchpb.AssignmentSet {
	if !sub.takeOwn() && state.withPeers {
		peers, ok := d.streams.peersSince(state.node, state.peers)
		if ok && !peers.full {
			return state.nextPeers(peers)
		}
	}
	cur, peers, ok := d.currentSet(state)
	if !ok {
		return nil
	}
	return state.next(cur, peers)
}

// firstDelta is a stream's first message: the whole set, or an empty delta
// when the agent's digest since says it holds that set already (it
// reconnected, perhaps to another master, and nothing changed). nil means
// the peer table is not listed yet.
func (d *Dispatcher) firstDelta(state *deltaState, since uint64) *orchpb.AssignmentSet {
	cur, peers, ok := d.currentSet(state)
	if !ok {
		return nil
	}
	msg := state.whole(cur, peers)
	if since != 0 && msg.GetDigest() == since {
		d.resumed.Add(1)
		return &orchpb.AssignmentSet{Index: msg.GetIndex(), NodeId: msg.GetNodeId(), Delta: true, Seq: msg.GetSeq(), Digest: msg.GetDigest()}
	}
	return msg
}

// currentSet reads the node's set now (peers aside) with its secret
// values, and the peer changes since the stream's position.
func (d *Dispatcher) currentSet(state *deltaState) (nodeSet, peerChanges, bool) {
	var peers peerChanges
	if state.withPeers {
		var ok bool
		if peers, ok = d.streams.peersSince(state.node, state.peers); !ok {
			return nodeSet{}, peers, false
		}
	}
	cur := readNodeSet(d.deps.Store, state.node)
	d.addSecretData(cur.AssignmentSet)
	d.addCATrust(cur.AssignmentSet)
	return cur, peers, true
}

// parseDigest reads ?since: a set digest in hex, as the stream sent it.
func parseDigest(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a set digest (16 hex digits)", s)
	}
	return v, nil
}
