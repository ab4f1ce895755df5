package raftnode

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

func TestSingleNodeRestart(t *testing.T) {
	logger := newTestLogger(t)
	m := newMaster(t, "m1", logger)
	m.start(true, nil)
	leaderOf(t, m)
	select {
	case v := <-m.node.LeadershipChanges():
		if !v {
			t.Fatal("first leadership change is false")
		}
	case <-time.After(patience):
		t.Fatal("no leadership notification")
	}
	last := applyAndReadBack(t, m)
	before := m.store.Snapshot()
	stopRefusesWork(t, m)

	// Restart with Bootstrap still set: it must resume, not re-bootstrap,
	// and replay the log into the new (empty) store.
	m.start(true, nil)
	leaderOf(t, m)
	idx, err := m.node.VerifyLeader(ctxT(t))
	if err != nil || idx != last {
		// The new term's no-op is the commit index now; the read index is
		// still the last command.
		t.Fatalf("VerifyLeader after restart = %d, %v; want %d", idx, err, last)
	}
	if err := m.store.WaitIndex(ctxT(t), idx); err != nil {
		t.Fatal(err)
	}
	if got := m.store.Snapshot(); !equalSnap(got, before) {
		t.Fatalf("after log replay:\n%v\nwant\n%v", got, before)
	}
	restartFromSnapshot(t, m)
}

// applyAndReadBack applies three commands and a refused one on the single
// master m, checks that indexes rise and that a linearizable read sees the
// last one, and returns its index.
func applyAndReadBack(t *testing.T, m *master) uint64 {
	var last uint64
	for _, name := range []string{"a", "b", "c"} {
		res, err := m.node.Apply(ctxT(t), putService(name, 1))
		if err != nil {
			t.Fatal(err)
		}
		mustOK(t, res, "put "+name)
		if res.Index <= last {
			t.Fatalf("index %d after %d", res.Index, last)
		}
		last = res.Index
	}
	// A refused command is a result, not an error.
	res, err := m.node.Apply(ctxT(t), &orchpb.Command{})
	if err != nil || res.ErrorCode != orchpb.ResultInvalid {
		t.Fatalf("empty command: %v, %v", res, err)
	}
	last = res.Index
	idx, err := m.node.VerifyLeader(ctxT(t))
	if err != nil || idx != last {
		t.Fatalf("VerifyLeader = %d, %v; want %d", idx, err, last)
	}
	if err := m.store.WaitIndex(ctxT(t), idx); err != nil {
		t.Fatal(err)
	}
	return last
}

// stopRefusesWork stops m and checks that a second Shutdown is harmless,
// the leadership channel is closed and Apply says ErrShutdown.
func stopRefusesWork(t *testing.T, m *master) {
	m.stop()
	if err := m.node.Shutdown(); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
	for range m.node.LeadershipChanges() { // closed by Shutdown
	}
	if _, err := m.node.Apply(ctxT(t), putService("late", 1)); !errors.Is(err, ErrShutdown) {
		t.Fatalf("apply after shutdown: %v", err)
	}
}

// restartFromSnapshot takes a user snapshot, writes more and restarts m:
// its state must come back from the snapshot plus the log after it.
func restartFromSnapshot(t *testing.T, m *master) {
	if err := m.node.Snapshot(); err != nil {
		t.Fatal(err)
	}
	res, err := m.node.Apply(ctxT(t), putService("d", 2))
	if err != nil {
		t.Fatal(err)
	}
	mustOK(t, res, "put d")
	before := m.store.Snapshot()
	m.stop()
	m.start(false, nil)
	leaderOf(t, m)
	waitFor(t, "replay after snapshot", func() bool { return m.store.Index() >= res.Index })
	if got := m.store.Snapshot(); !equalSnap(got, before) {
		t.Fatalf("after snapshot restore and replay:\n%v\nwant\n%v", got, before)
	}
	if snaps, err := m.node.snaps.List(); err != nil || len(snaps) == 0 {
		t.Fatalf("snapshots on disk: %v, %v", snaps, err)
	}
}

func TestThreeMasters(t *testing.T) {
	all := startThreeMasters(t)
	res, leader := applyOnLeader(t, putService("web", 3), all...)
	mustOK(t, res, "put web")
	for _, m := range all {
		if m == leader {
			continue
		}
		if _, err := m.node.Apply(ctxT(t), putService("x", 1)); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("apply on follower %s: %v, want ErrNotLeader", m.id, err)
		}
		if _, err := m.node.VerifyLeader(ctxT(t)); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("VerifyLeader on follower %s: %v, want ErrNotLeader", m.id, err)
		}
		waitFor(t, m.id+" to apply web", func() bool { return m.store.Index() >= res.Index })
	}
	for _, m := range all {
		sameState(t, leader.store, m.store)
	}

	// Kill the leader: the other two elect a new one, which can serve a
	// linearizable read at once (its commit index is a no-op) and write.
	leader.stop()
	var rest []*master
	for _, m := range all {
		if m != leader {
			rest = append(rest, m)
		}
	}
	res2 := failOver(t, rest, res.Index)

	// The old leader comes back with its data dir and catches up.
	leader.start(false, nil)
	all = append(rest, leader)
	for _, m := range all {
		waitFor(t, m.id+" to catch up", func() bool { return m.store.Index() >= res2.Index })
	}
	for _, m := range all[1:] {
		sameState(t, all[0].store, m.store)
	}
	leaderRemovesFollower(t, all)
}

// startThreeMasters bootstraps m1, adds m2 and m3 as voters and waits until
// every one knows the leader and all members, one leader and two followers.
func startThreeMasters(t *testing.T) []*master {
	logger := newTestLogger(t)
	m1, m2, m3 := newMaster(t, "m1", logger), newMaster(t, "m2", logger), newMaster(t, "m3", logger)
	m1.start(true, nil)
	leaderOf(t, m1)
	m2.start(false, nil)
	m3.start(false, nil)
	for _, m := range []*master{m2, m3} {
		if err := m1.node.AddVoter(ctxT(t), m.id, m.node.Addr()); err != nil {
			t.Fatalf("add %s: %v", m.id, err)
		}
	}
	all := []*master{m1, m2, m3}
	for _, m := range all {
		waitFor(t, m.id+" to know the leader and all members", func() bool {
			servers, err := m.node.Servers()
			id, _ := m.node.Leader()
			return err == nil && len(servers) == 3 && id != ""
		})
	}
	leader := leaderOf(t, all...)
	servers, _ := leader.node.Servers()
	roles := map[string]int{}
	for _, s := range servers {
		roles[s.Role]++
	}
	if roles["leader"] != 1 || roles["follower"] != 2 {
		t.Fatalf("servers = %+v", servers)
	}
	return all
}

// failOver waits for one of rest to confirm its leadership, checks that its
// read index is lastIndex and the acknowledged write survived, and writes
// through it.
func failOver(t *testing.T, rest []*master, lastIndex uint64) *orchpb.CommandResult {
	var newLeader *master
	var idx uint64
	waitFor(t, "a new leader to confirm its leadership", func() bool {
		newLeader = leaderOf(t, rest...)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		idx, err = newLeader.node.VerifyLeader(ctx)
		return err == nil
	})
	if idx != lastIndex {
		t.Fatalf("read index on the new leader = %d, want the last command %d", idx, lastIndex)
	}
	if err := newLeader.store.WaitIndex(ctxT(t), idx); err != nil {
		t.Fatal(err)
	}
	if newLeader.store.Service("default", "web") == nil {
		t.Fatal("acknowledged write lost on failover")
	}
	res2, _ := applyOnLeader(t, putService("api", 1), rest...)
	mustOK(t, res2, "put api")
	return res2
}

// leaderRemovesFollower has the leader remove a follower, which can then
// change membership no more.
func leaderRemovesFollower(t *testing.T, all []*master) {
	cur := leaderOf(t, all...)
	var gone *master
	for _, m := range all {
		if m != cur {
			gone = m
			break
		}
	}
	if err := cur.node.RemoveServer(ctxT(t), gone.id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "2 servers", func() bool {
		s, err := cur.node.Servers()
		return err == nil && len(s) == 2
	})
	if err := gone.node.RemoveServer(ctxT(t), cur.id); !errors.Is(err, ErrNotLeader) && !errors.Is(err, ErrShutdown) {
		t.Fatalf("membership change on a removed follower: %v", err)
	}
}

func TestSnapshotThresholdAndRestart(t *testing.T) {
	logger := newTestLogger(t)
	m := newMaster(t, "m1", logger)
	small := func(c *Config) {
		c.SnapshotThreshold = 8
		c.SnapshotInterval = 50 * time.Millisecond
		c.TrailingLogs = 4
	}
	m.start(true, small)
	leaderOf(t, m)
	var last *orchpb.CommandResult
	for i := 0; i < 40; i++ {
		res, err := m.node.Apply(ctxT(t), putService("svc", int32(i)))
		if err != nil {
			t.Fatal(err)
		}
		last = res
	}
	// Raft snapshots on its own and compacts the log behind it.
	waitFor(t, "an automatic snapshot and log compaction", func() bool {
		first, err := m.node.bolt.FirstIndex()
		snaps, _ := m.node.snaps.List()
		return err == nil && first > 1 && len(snaps) > 0
	})
	before := m.store.Snapshot()
	m.stop()

	m.start(false, small)
	first, err := m.node.bolt.FirstIndex()
	if err != nil || first <= 1 {
		t.Fatalf("log first index %d, %v: want a compacted log", first, err)
	}
	// The entries before `first` are gone, so the state can only come from
	// the snapshot (restored before Open returns) plus the log after it.
	if m.store.Index() == 0 {
		t.Fatal("store empty right after Open: snapshot not restored on start")
	}
	leaderOf(t, m)
	waitFor(t, "replay to the last write", func() bool { return m.store.Index() >= last.Index })
	if got := m.store.Snapshot(); !equalSnap(got, before) {
		t.Fatalf("after restart:\n%v\nwant\n%v", got, before)
	}
	if svc := m.store.Service("default", "svc"); svc.GetSpec().GetReplicas() != 39 {
		t.Fatalf("svc = %v", svc)
	}
}

func TestOpenErrors(t *testing.T) {
	fsm := store.NewFSM(store.New(), nil)
	for _, cfg := range []Config{
		{BindAddr: "127.0.0.1:0", NodeID: "x"},
		{DataDir: t.TempDir(), BindAddr: "127.0.0.1:0"},
		{DataDir: t.TempDir(), NodeID: "x"},
		{DataDir: t.TempDir(), NodeID: "x", BindAddr: "0.0.0.0:0"}, // not advertisable
	} {
		if n, err := Open(cfg, fsm); err == nil {
			n.Shutdown()
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
	// A data dir in use by another open node is refused, not shared.
	logger := newTestLogger(t)
	m := newMaster(t, "m1", logger)
	m.start(true, nil)
	_, err := Open(Config{DataDir: m.dir, BindAddr: "127.0.0.1:0", NodeID: "m1", Logger: logger}, store.NewFSM(store.New(), nil))
	if err == nil {
		t.Fatal("second Open of the same data dir succeeded")
	}
}
