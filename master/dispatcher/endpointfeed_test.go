package dispatcher

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// feedReader is one endpoint stream's view, built only from what the feed
// hands it, as an agent builds its DNS table.
type feedReader struct {
	seq    uint64
	set    map[string]*orchpb.Endpoint
	resets int
}

func (r *feedReader) apply(u *orchpb.EndpointUpdate) {
	if u.GetReset_() {
		r.set = map[string]*orchpb.Endpoint{}
		r.resets++
	}
	for _, ep := range u.GetPut() {
		r.set[ep.GetReplicaId()] = ep
	}
	for _, id := range u.GetDeleted() {
		delete(r.set, id)
	}
}

// catchUp reads from f until r's view equals want.
func (r *feedReader) catchUp(t *testing.T, f *endpointFeed, want map[string]*orchpb.Endpoint) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		u, next, wait := f.since(r.seq)
		if u != nil {
			r.apply(u)
		}
		r.seq = next
		if sameEndpoints(r.set, want) {
			return
		}
		select {
		case <-wait:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("reader never caught up:\nhas  %v\nwant %v", r.set, want)
		}
	}
}

func sameEndpoints(a, b map[string]*orchpb.Endpoint) bool {
	if len(a) != len(b) {
		return false
	}
	for id, ep := range a {
		if !proto.Equal(ep, b[id]) {
			return false
		}
	}
	return true
}

// TestEndpointFeedKeepsEveryReaderCurrent: replicas come, change state and
// address, and go; a reader that looks after every change and one that
// looks now and then both end up with exactly the published set, and the
// second starts over with the whole set once it falls behind the history.
func TestEndpointFeedKeepsEveryReaderCurrent(t *testing.T) {
	st := store.New()
	var index uint64
	apply := func(cmd *orchpb.Command) {
		t.Helper()
		index++
		if res := st.Apply(index, cmd); res.GetErrorCode() != "" {
			t.Fatalf("apply %v: %s", cmd, res.GetError())
		}
	}
	apply(&orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: &orchpb.Node{
		Id: "n1", Name: "one", State: string(orchpb.NodeReady), Capacity: &orchpb.ResourceAmounts{CpuMillis: 1 << 20, MemoryBytes: 1 << 40}}}}})
	apply(&orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{Spec: &orchpb.ServiceSpec{
		Kind: "Service", Namespace: "default", Name: "web", Mode: orchpb.ModeReplicated, Image: "web:1", Replicas: proto.Int32(0)}}}})

	f := newEndpointFeed(st)
	f.limit = 16
	release := f.runner.acquire()
	defer release()

	rng := rand.New(rand.NewSource(1))
	eager, lazy := &feedReader{}, &feedReader{}
	for step := range 400 {
		id := fmt.Sprint("r", rng.Intn(12))
		existing := st.Replica(id)
		switch {
		case existing == nil:
			apply(&orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: []*orchpb.Replica{{
				Id: id, Namespace: "default", Service: "web", Slot: int32(step), Node: "n1",
				DesiredState: string(orchpb.DesiredRunning), State: string(orchpb.ReplicaAssigned)}}}}})
		case rng.Intn(6) == 0:
			apply(&orchpb.Command{Op: &orchpb.Command_DeleteReplicas{DeleteReplicas: &orchpb.DeleteReplicas{Ids: []string{id}}}})
		default:
			state := []orchpb.ReplicaState{orchpb.ReplicaRunning, orchpb.ReplicaUnhealthy, orchpb.ReplicaStarting, orchpb.ReplicaFailed}[rng.Intn(4)]
			ip := []string{"", "10.244.1.2", "10.244.1.3"}[rng.Intn(3)]
			apply(&orchpb.Command{Op: &orchpb.Command_ReportReplicaStatus{ReportReplicaStatus: &orchpb.ReportReplicaStatus{
				NodeId: "n1", Statuses: []*orchpb.ReplicaStatus{{Id: id, State: string(state), Ip: ip, Restarts: int32(step)}}}}})
		}
		want := Endpoints(st)
		eager.catchUp(t, f, want)
		if step%40 == 39 {
			lazy.catchUp(t, f, want)
		}
	}
	if eager.resets != 1 {
		t.Errorf("a reader that kept up started over %d times, want only its first read", eager.resets)
	}
	if lazy.resets < 2 {
		t.Errorf("a reader 40 changes behind a history of %d started over %d times, want it to start over", f.limit, lazy.resets)
	}
}

// benchStore is a store with n running, addressed replicas on one node.
func benchStore(tb testing.TB, n int) (*store.Store, func(*orchpb.Command)) {
	st := store.New()
	var index uint64
	apply := func(cmd *orchpb.Command) {
		index++
		if res := st.Apply(index, cmd); res.GetErrorCode() != "" {
			tb.Fatalf("apply: %s", res.GetError())
		}
	}
	apply(&orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: &orchpb.Node{
		Id: "n1", Name: "one", State: string(orchpb.NodeReady), Capacity: &orchpb.ResourceAmounts{CpuMillis: 1 << 40, MemoryBytes: 1 << 50}}}}})
	apply(&orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{Spec: &orchpb.ServiceSpec{
		Kind: "Service", Namespace: "default", Name: "web", Mode: orchpb.ModeReplicated, Image: "web:1", Replicas: proto.Int32(0)}}}})
	reps := make([]*orchpb.Replica, n)
	statuses := make([]*orchpb.ReplicaStatus, n)
	for i := range reps {
		id := fmt.Sprint("r", i)
		reps[i] = &orchpb.Replica{Id: id, Namespace: "default", Service: "web", Slot: int32(i), Node: "n1",
			DesiredState: string(orchpb.DesiredRunning), State: string(orchpb.ReplicaAssigned)}
		statuses[i] = &orchpb.ReplicaStatus{Id: id, State: string(orchpb.ReplicaRunning), Ip: fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255)}
	}
	apply(&orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: reps}}})
	apply(&orchpb.Command{Op: &orchpb.Command_ReportReplicaStatus{ReportReplicaStatus: &orchpb.ReportReplicaStatus{NodeId: "n1", Statuses: statuses}}})
	return st, apply
}

// BenchmarkEndpointChange: one replica's endpoint changes in a cluster of
// 30,000 replicas with 1,000 connected endpoint streams, and every stream
// reads what it must send. (Each stream used to list and diff the whole set
// on every change: see BenchmarkEndpointsListing for one such listing.)
func BenchmarkEndpointChange(b *testing.B) {
	st, apply := benchStore(b, 30000)
	f := newEndpointFeed(st)
	release := f.runner.acquire()
	defer release()
	// Every stream has read the whole set once.
	var start uint64
	for {
		u, next, wait := f.since(0)
		if u != nil {
			start = next
			break
		}
		<-wait
	}
	readers := make([]uint64, 1000)
	for i := range readers {
		readers[i] = start
	}
	state := []string{string(orchpb.ReplicaUnhealthy), string(orchpb.ReplicaRunning)}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _, wait := f.since(readers[0])
		apply(&orchpb.Command{Op: &orchpb.Command_ReportReplicaStatus{ReportReplicaStatus: &orchpb.ReportReplicaStatus{
			NodeId: "n1", Statuses: []*orchpb.ReplicaStatus{{Id: "r7", State: state[i%2], Ip: "10.0.0.7"}}}}})
		<-wait
		for r := range readers {
			u, next, _ := f.since(readers[r])
			if u == nil || len(u.GetPut()) != 1 {
				b.Fatalf("reader %d got %v", r, u)
			}
			readers[r] = next
		}
	}
}

// BenchmarkEndpointsListing is one full listing of 30,000 endpoints.
func BenchmarkEndpointsListing(b *testing.B) {
	st, _ := benchStore(b, 30000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got := Endpoints(st); len(got) != 30000 {
			b.Fatalf("%d endpoints", len(got))
		}
	}
}

// TestEndpointFeedRestartsFromAListing: once the last stream has gone the
// feed stops following the store; a stream that comes later must get the
// set as it is now, not as it was when the feed stopped.
func TestEndpointFeedRestartsFromAListing(t *testing.T) {
	st, apply := benchStore(t, 3)
	f := newEndpointFeed(st)
	first := &feedReader{}
	release := f.runner.acquire()
	first.catchUp(t, f, Endpoints(st))
	release()

	apply(&orchpb.Command{Op: &orchpb.Command_DeleteReplicas{DeleteReplicas: &orchpb.DeleteReplicas{Ids: []string{"r1"}}}})
	release = f.runner.acquire()
	defer release()
	later := &feedReader{}
	for {
		u, next, wait := f.since(0)
		if u != nil {
			later.apply(u)
			later.seq = next
			break
		}
		<-wait
	}
	if want := Endpoints(st); !sameEndpoints(later.set, want) {
		t.Fatalf("a stream after a restart of the feed first got %v, want %v", later.set, want)
	}
}
