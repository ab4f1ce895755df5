package raftnode

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
)

// A leader whose process died while its machine stayed up (a crash, an
// OOM kill, kill -9) leaves a sure sign: its Raft port refuses
// connections. hashicorp/raft does not look for it. Each follower waits
// for its own heartbeat timer, which fires every 1-2 s and needs a second
// of silence; a follower that has not timed out yet still knows the old
// leader and refuses to vote, so the election waits for the later of the
// survivors: 2 to 4 s after the kill, on top of which come the retries of
// every client and agent.
//
// The watch below probes a leader that has been silent for a few
// heartbeats (leaderProbeHeartbeats). When its port refuses, one survivor
// starts an election at once, the way a leadership transfer does (raft's
// TimeoutNow, sent to itself): the others grant it their vote although
// they still know the dead leader, if its log is as complete as theirs.
// That is the rule a transfer relies on, and Raft's safety does not depend
// on it: a vote is still one per term, for a log at least as complete as
// the voter's. A leader that answers the probe, or a machine that does
// not answer at all (down, cut off), is left to raft's own timers, whose
// stickiness keeps a follower cut off from the others from disrupting
// them.
//
// Survivors take turns so that they do not split the vote: the one first
// by server ID (the dead leader left out) campaigns at once, the next
// after campaignStagger if no leader has appeared and no election begun
// meanwhile (the first may hold a shorter log and be refused, or have no
// core to campaign with), and so on.

const (
	// leaderProbeHeartbeats is how many heartbeats a follower misses
	// before it probes the leader's port, by default: raft sends one
	// every tenth of the heartbeat timeout (300 ms at the default 1 s).
	leaderProbeHeartbeats = 3
	// leaderProbeTimeout bounds the probe's connect. A live leader's
	// kernel answers at once however busy the process is, and a dead
	// process's with a refusal; a machine that is down or cut off lets
	// the probe time out, and so can this master when it waits for a
	// core (survivors take over the dead leader's agents). A probe that
	// timed out is made again while the silence lasts.
	leaderProbeTimeout = time.Second
	// campaignStagger is how long each survivor waits after the one
	// before it in the order.
	campaignStagger = 500 * time.Millisecond
)

// deadLeaderWatch is one follower's watch on its leader. Its inputs are
// functions so that tests drive the decisions without a cluster.
type deadLeaderWatch struct {
	self        raft.ServerID
	probeAfter  time.Duration
	state       func() raft.RaftState
	leader      func() (raft.ServerAddress, raft.ServerID)
	lastContact func() time.Time
	// lastVote is the term of this member's last vote and whether it
	// went to itself.
	lastVote func() (term uint64, forSelf bool)
	voters   func() ([]raft.ServerID, error)
	// probe connects to the leader's Raft address and hangs up; its
	// error says whether anything listens there.
	probe func(ctx context.Context, addr raft.ServerAddress) error
	// campaign makes this member a candidate now, as a leadership
	// transfer would.
	campaign func() error
	logger   *slog.Logger
	counted  func(result string)

	// probed is the last contact of a silence that a probe settled (the
	// leader answered, or refused and this member's turn was set): one
	// decision per silence, however long it lasts.
	probed time.Time
	// campaignAt is when this member campaigns against deadLeader (zero:
	// it does not).
	campaignAt time.Time
	deadLeader raft.ServerAddress
	// votedBefore is the term of this member's last vote when the leader
	// was found dead. Every election after that is in a later term, so a
	// vote for another member in a later term means another survivor's
	// election is under way, which a campaign of this member's would only
	// disrupt. (A later term without such a vote means this member
	// refused one, its log being the more complete: its turn stands.)
	votedBefore uint64
}

// Probe results, the values of the metric's result label.
const (
	probeRefused     = "refused"
	probeAnswered    = "answered"
	probeUnreachable = "unreachable"
)

// step looks at the follower's state at now, probing or campaigning when
// due. It is called every probeAfter/4 by run.
func (w *deadLeaderWatch) step(ctx context.Context, now time.Time) {
	if w.state() != raft.Follower {
		w.campaignAt = time.Time{}
		return
	}
	addr, id := w.leader()
	if !w.campaignAt.IsZero() {
		if addr != "" && addr != w.deadLeader {
			w.campaignAt = time.Time{} // another member won
			return
		}
		if term, forSelf := w.lastVote(); term > w.votedBefore && !forSelf {
			w.campaignAt = time.Time{} // another member's election is under way
			return
		}
		if now.Before(w.campaignAt) {
			return
		}
		w.campaignAt = time.Time{}
		w.logger.Warn("the leader's process is gone (its Raft port refuses connections): campaigning now", "leader", w.deadLeader)
		if err := w.campaign(); err != nil {
			w.logger.Warn("could not start the election; raft's own timeout will", "err", err)
		}
		return
	}
	last := w.lastContact()
	if addr == "" || last.IsZero() || now.Sub(last) < w.probeAfter || last.Equal(w.probed) {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, leaderProbeTimeout)
	err := w.probe(pctx, addr)
	cancel()
	result := probeResult(err)
	w.counted(result)
	if result == probeUnreachable {
		w.logger.Info("the silent leader's Raft port does not answer; probing again", "leader", addr, "err", err)
		return
	}
	w.probed = last
	if result == probeAnswered {
		return
	}
	voters, err := w.voters()
	if err != nil {
		w.logger.Warn("leader gone, but the configuration is unreadable; raft's own timeout will elect", "err", err)
		return
	}
	turn, ok := campaignTurn(voters, w.self, id)
	if !ok {
		return // not a voter: nothing to campaign for
	}
	w.deadLeader = addr
	w.votedBefore, _ = w.lastVote()
	w.campaignAt = now.Add(time.Duration(turn) * campaignStagger)
	if turn == 0 {
		w.step(ctx, now)
	}
}

// probeResult names what a probe's error says: a refusal means no process
// listens at the leader's address.
func probeResult(err error) string {
	switch {
	case err == nil:
		return probeAnswered
	case errors.Is(err, syscall.ECONNREFUSED):
		return probeRefused
	default:
		return probeUnreachable
	}
}

// campaignTurn is self's place among the voters that may replace leader,
// in server ID order (false: self is not one of them).
func campaignTurn(voters []raft.ServerID, self, leader raft.ServerID) (int, bool) {
	others := slices.DeleteFunc(slices.Clone(voters), func(id raft.ServerID) bool { return id == leader })
	slices.Sort(others)
	i := slices.Index(others, self)
	return i, i >= 0
}

// run steps the watch until ctx ends.
func (w *deadLeaderWatch) run(ctx context.Context) {
	tick := time.NewTicker(max(w.probeAfter/4, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			w.step(ctx, now)
		}
	}
}

// watchLeader starts the dead-leader watch of this member (none when
// probeAfter is negative) and answers what stops it.
func (n *Node) watchLeader(probeAfter time.Duration) (stop func()) {
	if probeAfter < 0 {
		return func() {}
	}
	w := &deadLeaderWatch{
		self:        raft.ServerID(n.cfg.NodeID),
		probeAfter:  probeAfter,
		state:       n.raft.State,
		leader:      n.raft.LeaderWithID,
		lastContact: n.raft.LastContact,
		lastVote:    n.lastVote,
		voters:      n.voterIDs,
		probe:       probeListener,
		campaign:    n.campaignNow,
		logger:      n.logger,
		counted:     func(result string) { n.metrics.leaderProbes.WithLabelValues(result).Inc() },
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.run(ctx)
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

// probeListener connects to addr over plain TCP and hangs up at once: the
// kernel's answer is all it needs, and the peer's transport sees a
// connection that closed before saying anything (a quiet EOF).
func probeListener(ctx context.Context, addr raft.ServerAddress) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", string(addr))
	if err != nil {
		return err
	}
	return conn.Close()
}

// Where raft keeps its last vote in the stable store (raft.go's
// keyLastVoteTerm and keyLastVoteCand: part of its on-disk format).
var (
	keyLastVoteTerm = []byte("LastVoteTerm")
	keyLastVoteCand = []byte("LastVoteCand")
)

// lastVote reads this member's last vote from raft's stable store: its
// term (0: none) and whether it went to this member.
func (n *Node) lastVote() (uint64, bool) {
	term, err := n.bolt.GetUint64(keyLastVoteTerm)
	if err != nil {
		return 0, false
	}
	cand, err := n.bolt.Get(keyLastVoteCand)
	if err != nil {
		return term, false
	}
	self := n.transport.EncodePeer(raft.ServerID(n.cfg.NodeID), n.transport.LocalAddr())
	return term, bytes.Equal(cand, self)
}

// voterIDs are the voters of the latest configuration.
func (n *Node) voterIDs() ([]raft.ServerID, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	var ids []raft.ServerID
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			ids = append(ids, s.ID)
		}
	}
	return ids, nil
}

// campaignNow makes this member a candidate at once, through the RPC a
// leader sends the member it hands its leadership to (TimeoutNow), sent
// over the transport to itself: raft offers no other way in, and the
// election it starts asks for votes as a transfer does.
func (n *Node) campaignNow() error {
	self := raft.ServerID(n.cfg.NodeID)
	addr := n.transport.LocalAddr()
	req := &raft.TimeoutNowRequest{RPCHeader: raft.RPCHeader{
		ProtocolVersion: raft.ProtocolVersionMax,
		ID:              []byte(self),
		Addr:            n.transport.EncodePeer(self, addr),
	}}
	return n.transport.TimeoutNow(self, addr, req, &raft.TimeoutNowResponse{})
}
