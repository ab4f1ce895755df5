package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// randomCommands generates a plausible, conflict-rich command stream. It
// reads s (which the caller keeps applying to) to aim at existing objects.
type randomCommands struct {
	rnd *rand.Rand
	s   *Store
	seq int
}

func (g *randomCommands) next() *orchpb.Command {
	r := g.rnd
	pick := func(n int) int { return r.IntN(n) }
	ns := []string{"default", "prod"}[pick(2)]
	svc := []string{"web", "db", "cache"}[pick(3)]
	nodeNum := pick(6)
	node := fmt.Sprintf("n%d", nodeNum)
	// A node's capacity never changes here: a shrinking re-registration may
	// legitimately leave a node over-committed.
	capacity := int64(500 + nodeNum%3*500)
	switch pick(12) {
	case 0:
		return registerNode(node, "name-"+node, capacity, 1000)
	case 1:
		return &orchpb.Command{Op: &orchpb.Command_SetNodeState{SetNodeState: &orchpb.SetNodeState{NodeId: node,
			State: string([]orchpb.NodeState{orchpb.NodeReady, orchpb.NodeDown, orchpb.NodeDraining, orchpb.NodeCordoned}[pick(4)])}}}
	case 2:
		if pick(4) == 0 {
			return &orchpb.Command{Op: &orchpb.Command_RemoveNode{RemoveNode: &orchpb.RemoveNode{NodeId: node}}}
		}
		return registerNode(node, "name-"+node, capacity, 1000)
	case 3:
		return putService(ns, svc, int32(pick(4)), fmt.Sprintf("%s:%d", svc, pick(3)))
	case 4:
		if pick(3) == 0 {
			return &orchpb.Command{Op: &orchpb.Command_DeleteService{DeleteService: &orchpb.DeleteService{Namespace: ns, Name: svc}}}
		}
		return &orchpb.Command{Op: &orchpb.Command_ScaleService{ScaleService: &orchpb.ScaleService{Namespace: ns, Name: svc, Replicas: int32(pick(5))}}}
	case 5, 6, 7:
		var rs []*orchpb.Replica
		expected := map[string]uint64{}
		for i := 0; i < 1+pick(4); i++ {
			g.seq++
			id := fmt.Sprintf("r%d", pick(g.seq+1))
			rp := replica(id, ns, svc, int32(1+pick(3)), node, int64(pick(4)*100), int64(pick(4)*100))
			if pick(4) == 0 {
				rp.Node = ""
			}
			if pick(5) == 0 {
				rp.SetDesired(orchpb.DesiredStopped)
			}
			if pick(4) == 0 {
				rp.HostPorts = []int32{8080}
			}
			if old := g.s.Replica(id); old != nil && pick(2) == 0 {
				expected[id] = old.Version - uint64(pick(2)) // sometimes stale
			}
			rs = append(rs, rp)
		}
		return &orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: rs, ExpectedVersions: expected}}}
	case 8:
		return &orchpb.Command{Op: &orchpb.Command_DeleteReplicas{DeleteReplicas: &orchpb.DeleteReplicas{Ids: []string{fmt.Sprintf("r%d", pick(g.seq+1))}}}}
	default:
		// Agents report only forward: a terminal replica is never revived,
		// so the no-over-commit invariant below must hold.
		var sts []*orchpb.ReplicaStatus
		for _, rp := range g.s.Replicas(ReplicaFilter{Node: node}) {
			if rp.Terminal() || pick(2) == 0 {
				continue
			}
			sts = append(sts, &orchpb.ReplicaStatus{Id: rp.Id,
				State: string([]orchpb.ReplicaState{orchpb.ReplicaRunning, orchpb.ReplicaUnhealthy, orchpb.ReplicaFailed, orchpb.ReplicaStopped}[pick(4)]),
				Ip:    "10.244.0." + fmt.Sprint(pick(250))})
		}
		if pick(5) == 0 {
			node = fmt.Sprintf("n%d", pick(6)) // sometimes the wrong node
		}
		return reportStatus(node, sts...)
	}
}

// TestRandomCommandsKeepInvariants checks the incremental indexes and
// allocation against a brute-force recomputation after every command, that
// no node is ever over-committed, and that two stores fed the same commands
// end byte-identical (determinism).
func TestRandomCommandsKeepInvariants(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			a, b := New(WithWatchRing(64)), New()
			g := &randomCommands{rnd: rand.New(rand.NewPCG(seed, 0)), s: a}
			var accepted, rejected int
			for i := uint64(1); i <= 600; i++ {
				cmd := g.next()
				ra, rb := a.Apply(i, cmd), b.Apply(i, proto.Clone(cmd).(*orchpb.Command))
				if !proto.Equal(ra, rb) {
					t.Fatalf("index %d: results differ: %v vs %v", i, ra, rb)
				}
				if cmd.GetPutReplicas() != nil {
					accepted += len(cmd.GetPutReplicas().Replicas) - len(ra.Rejected)
					rejected += len(ra.Rejected)
				}
				checkInvariants(t, a)
				for _, n := range a.Nodes() {
					c, al := n.GetCapacity(), n.GetAllocated()
					if (c.GetCpuMillis() > 0 && al.GetCpuMillis() > c.GetCpuMillis()) ||
						(c.GetMemoryBytes() > 0 && al.GetMemoryBytes() > c.GetMemoryBytes()) {
						t.Fatalf("index %d: node %s over-committed: %v of %v", i, n.Id, al, c)
					}
				}
			}
			if accepted == 0 || rejected == 0 {
				t.Fatalf("generator exercised too little: %d accepted, %d rejected replica writes", accepted, rejected)
			}
			ma, _ := proto.MarshalOptions{Deterministic: true}.Marshal(a.Snapshot())
			mb, _ := proto.MarshalOptions{Deterministic: true}.Marshal(b.Snapshot())
			if !bytes.Equal(ma, mb) {
				t.Fatal("two stores fed the same commands differ")
			}
			assertRoundTrip(t, a)
		})
	}
}

// TestConcurrentReadersDuringApply is for -race: readers, watchers and
// snapshotters run while one writer applies.
func TestConcurrentReadersDuringApply(t *testing.T) {
	s := New(WithWatchRing(256))
	gen := New()
	g := &randomCommands{rnd: rand.New(rand.NewPCG(42, 42)), s: gen}
	cmds := make([]*orchpb.Command, 1500)
	for i := range cmds {
		cmds[i] = g.next()
		gen.Apply(uint64(i+1), cmds[i])
	}
	done := make(chan struct{})
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			readUntilDone(s, done, errs)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		watchUntil(ctx, s, uint64(len(cmds)), done, errs)
	}()
	notifyCh, cancel := s.Notify()
	defer cancel()
	for i, cmd := range cmds {
		s.Apply(uint64(i+1), cmd)
	}
	<-notifyCh
	close(done)
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if !proto.Equal(s.Snapshot(), gen.Snapshot()) {
		t.Fatal("state under concurrent reads differs from the same commands applied alone")
	}
}

// readUntilDone snapshots s and reads every index of it, again and again
// until done is closed.
func readUntilDone(s *Store, done <-chan struct{}, errs chan<- error) {
	for {
		select {
		case <-done:
			return
		default:
		}
		idx := s.Index()
		snap := s.Snapshot()
		if snap.Index < idx {
			errs <- fmt.Errorf("snapshot at %d older than index read before it (%d)", snap.Index, idx)
			return
		}
		if _, err := proto.Marshal(snap); err != nil {
			errs <- err
			return
		}
		for _, n := range s.Nodes() {
			_ = s.Replicas(ReplicaFilter{Node: n.Id})
			_ = n.GetAllocated().GetCpuMillis()
		}
		for _, sv := range s.Services("") {
			for _, r := range s.Replicas(ReplicaFilter{Namespace: sv.Spec.Namespace, Service: sv.Spec.Name}) {
				_ = s.ReplicaByName(r.Namespace, r.DisplayName())
			}
		}
	}
}

// watchUntil is a watcher that keeps up, re-watching when cut off, until
// it has seen index end or done is closed. Events must never go back.
func watchUntil(ctx context.Context, s *Store, end uint64, done <-chan struct{}, errs chan<- error) {
	var last uint64
	for {
		ch, err := s.Watch(ctx, last)
		if errors.Is(err, ErrCompacted) {
			last = s.Index() // "re-list"
			continue
		}
		if err != nil {
			errs <- err
			return
		}
		for e := range ch {
			if e.Index < last {
				errs <- fmt.Errorf("watch went back from %d to %d", last, e.Index)
				return
			}
			last = e.Index
			if last == end {
				return
			}
		}
		select {
		case <-done:
			return
		default:
		}
	}
}
