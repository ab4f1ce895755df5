package dispatcher

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

func woke(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(200 * time.Millisecond):
		return false
	}
}

// TestFanoutWakesOnlyWhenASetChanges: a stream wakes when its node gains
// or loses a replica, not for status reports nor other nodes' changes.
func TestFanoutWakesOnlyWhenASetChanges(t *testing.T) {
	st := store.New()
	var index uint64
	apply := func(cmd *orchpb.Command) {
		index++
		if res := st.Apply(index, cmd); res.GetErrorCode() != "" {
			t.Fatal(res.GetError())
		}
	}
	for _, id := range []string{"a", "b"} {
		apply(&orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: &orchpb.Node{Id: id, Name: id}}}})
	}
	apply(&orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{Spec: &orchpb.ServiceSpec{Namespace: "default", Name: "web"}}}})
	f := newFanout(st)
	sub, cancel := f.subscribe("a", false)
	ch := sub.ch
	defer cancel()
	woke(ch) // the wake-up every new watch starts with
	put := func(id, node string, desired orchpb.DesiredState, state orchpb.ReplicaState) {
		apply(&orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: []*orchpb.Replica{{
			Id: id, Namespace: "default", Service: "web", Slot: 1, Node: node, DesiredState: string(desired), State: string(state)}}}}})
	}
	put("r1", "a", orchpb.DesiredRunning, orchpb.ReplicaAssigned)
	if !woke(ch) {
		t.Fatal("not woken by a new replica on its node")
	}
	apply(&orchpb.Command{Op: &orchpb.Command_ReportReplicaStatus{ReportReplicaStatus: &orchpb.ReportReplicaStatus{
		NodeId: "a", Statuses: []*orchpb.ReplicaStatus{{Id: "r1", State: string(orchpb.ReplicaRunning)}}}}})
	put("r2", "b", orchpb.DesiredRunning, orchpb.ReplicaAssigned)
	if woke(ch) {
		t.Fatal("woken by a status report or another node's replica")
	}
	put("r1", "a", orchpb.DesiredStopped, orchpb.ReplicaRunning)
	if !woke(ch) {
		t.Fatal("not woken when its replica was told to stop")
	}
	// A peers stream wakes on node changes.
	peerSub, cancelPeers := f.subscribe("b", true)
	peers := peerSub.ch
	defer cancelPeers()
	woke(peers)
	apply(&orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: &orchpb.Node{Id: "c", Name: "c"}}}})
	if !woke(peers) {
		t.Fatal("a stream with peers not woken by a new node")
	}
	if woke(ch) {
		t.Fatal("a stream without peers woken by another node joining")
	}
}

// blockingProposer holds the first Apply until released and records the
// commands it got.
type blockingProposer struct {
	mu      sync.Mutex
	cmds    []*orchpb.Command
	release chan struct{}
	first   sync.Once
	entered chan struct{}
}

func (p *blockingProposer) Apply(ctx context.Context, cmd *orchpb.Command) (*orchpb.CommandResult, error) {
	p.mu.Lock()
	p.cmds = append(p.cmds, cmd)
	p.mu.Unlock()
	p.first.Do(func() {
		close(p.entered)
		<-p.release
	})
	return &orchpb.CommandResult{}, nil
}

// TestStatusBatcherGroupsReports: reports arriving while an entry commits
// go together in the next one, and every sender hears back.
func TestStatusBatcherGroupsReports(t *testing.T) {
	p := &blockingProposer{release: make(chan struct{}), entered: make(chan struct{})}
	b := &statusBatcher{proposer: p}
	var wg sync.WaitGroup
	send := func(node string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.submit(context.Background(), &orchpb.ReportReplicaStatus{NodeId: node}); err != nil {
				t.Error(err)
			}
		}()
	}
	send("first")
	<-p.entered
	for _, n := range []string{"n1", "n2", "n3", "n4", "n5"} {
		send(n)
	}
	time.Sleep(50 * time.Millisecond) // all five queue behind the first
	close(p.release)
	wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.cmds) != 2 {
		t.Fatalf("%d entries, want 2 (the first alone, then the five together)", len(p.cmds))
	}
	if p.cmds[0].GetReportReplicaStatus().GetNodeId() != "first" {
		t.Errorf("first entry %v", p.cmds[0])
	}
	if got := len(p.cmds[1].GetReportReplicaStatusBatch().GetReports()); got != 5 {
		t.Errorf("second entry holds %d reports, want 5", got)
	}
}

// TestFanoutWakesForReplicasFromBeforeItsWatch: a replica placed before
// the fan-out began watching (every replica, after a master restart) still
// wakes its node's stream when it leaves the set.
func TestFanoutWakesForReplicasFromBeforeItsWatch(t *testing.T) {
	st := store.New()
	var index uint64
	apply := func(cmd *orchpb.Command) {
		index++
		if res := st.Apply(index, cmd); res.GetErrorCode() != "" {
			t.Fatal(res.GetError())
		}
	}
	apply(&orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: &orchpb.Node{Id: "a", Name: "a"}}}})
	apply(&orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{Spec: &orchpb.ServiceSpec{Namespace: "default", Name: "web"}}}})
	put := func(desired orchpb.DesiredState) {
		apply(&orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: []*orchpb.Replica{{
			Id: "r1", Namespace: "default", Service: "web", Slot: 1, Node: "a", DesiredState: string(desired), State: string(orchpb.ReplicaRunning)}}}}})
	}
	put(orchpb.DesiredRunning)
	f := newFanout(st)
	sub, cancel := f.subscribe("a", false)
	ch := sub.ch
	defer cancel()
	if !woke(ch) {
		t.Fatal("not woken when the watch began")
	}
	put(orchpb.DesiredStopped)
	if !woke(ch) {
		t.Fatal("not woken when a replica placed before the watch began was told to stop")
	}
}
