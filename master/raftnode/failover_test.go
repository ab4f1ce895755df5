package raftnode

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// fakeFollower is what a deadLeaderWatch sees of its member, set by the
// test.
type fakeFollower struct {
	state     raft.RaftState
	leader    raft.ServerAddress
	leaderID  raft.ServerID
	contact   time.Time
	voteTerm  uint64
	voteSelf  bool
	voters    []raft.ServerID
	probeErr  error
	probes    int
	campaigns int
}

func (f *fakeFollower) watch(self raft.ServerID) *deadLeaderWatch {
	return &deadLeaderWatch{
		self:        self,
		probeAfter:  300 * time.Millisecond,
		state:       func() raft.RaftState { return f.state },
		leader:      func() (raft.ServerAddress, raft.ServerID) { return f.leader, f.leaderID },
		lastContact: func() time.Time { return f.contact },
		lastVote:    func() (uint64, bool) { return f.voteTerm, f.voteSelf },
		voters:      func() ([]raft.ServerID, error) { return f.voters, nil },
		probe:       func(context.Context, raft.ServerAddress) error { f.probes++; return f.probeErr },
		campaign:    func() error { f.campaigns++; return nil },
		logger:      slog.New(slog.DiscardHandler),
		counted:     func(string) {},
	}
}

var (
	t0      = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	refused = &net.OpError{Op: "dial", Net: "tcp", Err: &net.OpError{Err: syscall.ECONNREFUSED}}
)

func threeFollowing(leaderID raft.ServerID) *fakeFollower {
	return &fakeFollower{
		state: raft.Follower, leader: raft.ServerAddress(leaderID + ":7000"), leaderID: leaderID,
		contact: t0, voters: []raft.ServerID{"m3", "m1", "m2"}, probeErr: refused,
	}
}

func TestDeadLeaderFirstSurvivorCampaignsAtOnce(t *testing.T) {
	f := threeFollowing("m1")
	w := f.watch("m2")
	ctx := context.Background()
	w.step(ctx, t0.Add(200*time.Millisecond))
	if f.probes != 0 {
		t.Fatal("probed a leader silent for less than probeAfter")
	}
	w.step(ctx, t0.Add(350*time.Millisecond))
	if f.probes != 1 || f.campaigns != 1 {
		t.Fatalf("m2, first of the survivors: %d probes, %d campaigns; want 1, 1", f.probes, f.campaigns)
	}
	w.step(ctx, t0.Add(time.Second))
	if f.probes != 1 || f.campaigns != 1 {
		t.Fatalf("the same silence: %d probes, %d campaigns; want no more", f.probes, f.campaigns)
	}
}

func TestDeadLeaderNextSurvivorWaitsItsTurn(t *testing.T) {
	ctx := context.Background()
	f := threeFollowing("m1")
	w := f.watch("m3")
	w.step(ctx, t0.Add(350*time.Millisecond))
	if f.probes != 1 || f.campaigns != 0 {
		t.Fatalf("m3, second survivor, at once: %d probes, %d campaigns; want 1, 0", f.probes, f.campaigns)
	}
	w.step(ctx, t0.Add(350*time.Millisecond+campaignStagger-time.Millisecond))
	if f.campaigns != 0 {
		t.Fatal("m3 campaigned before its turn")
	}
	w.step(ctx, t0.Add(350*time.Millisecond+campaignStagger))
	if f.campaigns != 1 {
		t.Fatal("m3 did not campaign at its turn, with no leader elected meanwhile")
	}

	// m3 found m1 dead and waits its turn; then change happens, and m3
	// looks again after its turn has come.
	afterTurn := func(change func(f *fakeFollower)) *fakeFollower {
		f := threeFollowing("m1")
		w := f.watch("m3")
		w.step(ctx, t0.Add(350*time.Millisecond))
		change(f)
		w.step(ctx, t0.Add(time.Second))
		return f
	}

	// The first survivor won meanwhile: the second stays a follower.
	f = afterTurn(func(f *fakeFollower) {
		f.leader, f.leaderID, f.contact = "m2:7000", "m2", t0.Add(400*time.Millisecond)
	})
	if f.campaigns != 0 {
		t.Fatal("m3 campaigned although m2 was elected")
	}

	// Or the first survivor's election is under way: m3 voted in it.
	f = afterTurn(func(f *fakeFollower) { f.voteTerm++ })
	if f.campaigns != 0 {
		t.Fatal("m3 campaigned during m2's election, having voted for m2")
	}

	// But when m3 refused m2 (its own log was the more complete), it cast
	// no vote, and its turn stands.
	f = afterTurn(func(*fakeFollower) {})
	if f.campaigns != 1 {
		t.Fatal("m3 did not campaign after refusing m2's election")
	}

	// Or it became a candidate by its own timer.
	f = threeFollowing("m1")
	w = f.watch("m3")
	w.step(ctx, t0.Add(350*time.Millisecond))
	f.state = raft.Candidate
	w.step(ctx, t0.Add(time.Second))
	f.state = raft.Follower
	w.step(ctx, t0.Add(2*time.Second))
	if f.campaigns != 0 {
		t.Fatal("m3 campaigned after an election of its own")
	}
}

func TestLiveLeaderIsLeftToRaft(t *testing.T) {
	ctx := context.Background()
	f := threeFollowing("m1")
	f.probeErr = nil
	w := f.watch("m2")
	w.step(ctx, t0.Add(350*time.Millisecond))
	w.step(ctx, t0.Add(5*time.Second))
	if f.probes != 1 || f.campaigns != 0 {
		t.Fatalf("%d probes, %d campaigns; want 1 probe per silence and no campaign", f.probes, f.campaigns)
	}
	// A new silence is probed again.
	f.contact = t0.Add(6 * time.Second)
	w.step(ctx, t0.Add(7*time.Second))
	if f.probes != 2 {
		t.Fatal("a second silence was not probed")
	}
}

func TestUnreachableLeaderIsProbedUntilItRefuses(t *testing.T) {
	ctx := context.Background()
	f := threeFollowing("m1")
	f.probeErr = &net.OpError{Op: "dial", Err: context.DeadlineExceeded}
	w := f.watch("m2")
	w.step(ctx, t0.Add(350*time.Millisecond))
	w.step(ctx, t0.Add(1500*time.Millisecond))
	if f.probes != 2 || f.campaigns != 0 {
		t.Fatalf("%d probes, %d campaigns; want a probe at each step and no campaign", f.probes, f.campaigns)
	}
	// This master had no core for the refusal in time, or the machine
	// came back without the process: the next probe sees it.
	f.probeErr = refused
	w.step(ctx, t0.Add(2500*time.Millisecond))
	if f.campaigns != 1 {
		t.Fatal("no campaign once the probe was refused")
	}
}

func TestNoCampaignWithoutCause(t *testing.T) {
	ctx := context.Background()
	late := t0.Add(time.Second)
	for name, set := range map[string]func(f *fakeFollower){
		"not a voter":    func(f *fakeFollower) { f.voters = []raft.ServerID{"m1", "m3"} },
		"leader":         func(f *fakeFollower) { f.state = raft.Leader },
		"no leader":      func(f *fakeFollower) { f.leader, f.leaderID = "", "" },
		"never in touch": func(f *fakeFollower) { f.contact = time.Time{} },
	} {
		f := threeFollowing("m1")
		set(f)
		f.watch("m2").step(ctx, late)
		if f.campaigns != 0 {
			t.Errorf("%s: campaigned", name)
		}
	}
}

// TestProbeWaitFollowsTheHeartbeats: a follower probes after three missed
// heartbeats, which a longer heartbeat timeout spaces out, so a cluster
// tuned for a slow network does not probe a live leader between two of
// them.
func TestProbeWaitFollowsTheHeartbeats(t *testing.T) {
	for hb, want := range map[time.Duration]time.Duration{0: 300 * time.Millisecond, 5 * time.Second: 1500 * time.Millisecond} {
		if got := (Config{HeartbeatTimeout: hb}).withDefaults().LeaderProbeAfter; got != want {
			t.Errorf("heartbeat timeout %v: probe after %v, want %v", hb, got, want)
		}
	}
	if got := (Config{LeaderProbeAfter: -1}).withDefaults().LeaderProbeAfter; got != -1 {
		t.Errorf("probes turned off: %v", got)
	}
}

func TestCampaignTurn(t *testing.T) {
	voters := []raft.ServerID{"m3", "m1", "m2", "m5", "m4"}
	for self, want := range map[raft.ServerID]int{"m1": 0, "m3": 1, "m4": 2, "m5": 3} {
		if got, ok := campaignTurn(voters, self, "m2"); !ok || got != want {
			t.Errorf("turn of %s with m2 gone = %d, %v; want %d", self, got, ok, want)
		}
	}
	if _, ok := campaignTurn(voters, "m9", "m2"); ok {
		t.Error("a non-voter got a turn")
	}
	if voters[0] != "m3" {
		t.Error("campaignTurn reordered its input")
	}
}

// TestProbeTellsAClosedPortFromAnOpenOne probes real sockets: a refusal is
// what a dead process leaves, an accepted connection a live one.
func TestProbeTellsAClosedPortFromAnOpenOne(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := raft.ServerAddress(ln.Addr().String())
	ctx := context.Background()
	if got := probeResult(probeListener(ctx, addr)); got != probeAnswered {
		t.Fatalf("probe of a listening port: %s", got)
	}
	ln.Close()
	if got := probeResult(probeListener(ctx, addr)); got != probeRefused {
		t.Fatalf("probe of a closed port: %s", got)
	}
}

// TestProbeIsAQuietEOFOnTheTLSLayer: a probe that hangs up before the
// handshake ends the accepted connection with a bare io.EOF, which raft's
// transport does not log as an error.
func TestProbeIsAQuietEOFOnTheTLSLayer(t *testing.T) {
	layer, _, _ := newTestLayer(t)
	defer layer.Close()
	go func() { _ = probeListener(context.Background(), raft.ServerAddress(layer.Addr().String())) }()
	conn, err := layer.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) || err != io.EOF {
		t.Fatalf("read after a probe: %v, want io.EOF itself", err)
	}
}

// TestDeadLeaderReplacedBeforeRaftsTimeouts kills the leader of three
// masters whose followers would not time out for minutes: only the
// probe's election can replace it within the test's patience.
func TestDeadLeaderReplacedBeforeRaftsTimeouts(t *testing.T) {
	logger := newTestLogger(t)
	m1, m2, m3 := newMaster(t, "m1", logger), newMaster(t, "m2", logger), newMaster(t, "m3", logger)
	m1.start(true, nil)
	leaderOf(t, m1)
	slow := func(c *Config) {
		c.HeartbeatTimeout, c.ElectionTimeout = 10*time.Minute, 10*time.Minute
		c.LeaderProbeAfter = 300 * time.Millisecond // not the 3 min the timeout implies
	}
	m2.start(false, slow)
	m3.start(false, slow)
	for _, m := range []*master{m2, m3} {
		if err := m1.node.AddVoter(ctxT(t), m.id, m.node.Addr()); err != nil {
			t.Fatalf("add %s: %v", m.id, err)
		}
	}
	res, _ := applyOnLeader(t, putService("web", 3), m1)
	mustOK(t, res, "put web")
	for _, m := range []*master{m2, m3} {
		waitFor(t, m.id+" to apply web", func() bool { return m.store.Index() >= res.Index })
	}

	m1.stop() // its Raft port now refuses connections
	failOver(t, []*master{m2, m3}, res.Index)

	// Each survivor reads its vote in the new term from raft's store.
	leader := leaderOf(t, m2, m3)
	for _, m := range []*master{m2, m3} {
		term, forSelf := m.node.lastVote()
		if term != m.node.raft.CurrentTerm() || forSelf != (m == leader) {
			t.Errorf("%s's last vote: term %d (current %d), for itself %v; leader %s", m.id, term, m.node.raft.CurrentTerm(), forSelf, leader.id)
		}
	}
}
