package dispatcher

import (
	"fmt"
	"testing"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// nodesStore is a store with n registered nodes and nothing else.
func nodesStore(b *testing.B, n int) *store.Store {
	st := store.New()
	st.Apply(1, &orchpb.Command{Op: &orchpb.Command_SetClusterConfig{SetClusterConfig: &orchpb.SetClusterConfig{
		Config: &orchpb.ClusterConfig{ClusterCidr: "10.224.0.0/11", ClusterId: "bench"}}}})
	for i := range n {
		cmd := &orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: &orchpb.Node{
			Id: fmt.Sprint("n", i), Name: fmt.Sprint("node", i), Address: fmt.Sprintf("192.0.%d.%d", i>>8, i&255),
			State: string(orchpb.NodeReady)}}}}
		if res := st.Apply(uint64(i+2), cmd); res.GetErrorCode() != "" {
			b.Fatal(res.GetError())
		}
	}
	return st
}

// BenchmarkNodeChange is what one node's change costs the master across
// every connected stream that carries peers: with the shared peer table
// each stream reads one entry (O(nodes) in all); the whole sets of v0.1.0's
// agents each list every node again (O(nodes²)). One op is one change seen
// by all the streams.
func BenchmarkNodeChange(b *testing.B) {
	for _, nodes := range []int{1000, 5000} {
		st := nodesStore(b, nodes)
		b.Run(fmt.Sprintf("nodes=%d/delta", nodes), func(b *testing.B) {
			var tab peerTable
			tab.reset(st.Nodes())
			states := make([]*deltaState, nodes)
			empty := nodeSet{AssignmentSet: &orchpb.AssignmentSet{}}
			for i := range states {
				states[i] = newDeltaState(fmt.Sprint("n", i), true)
				ch, _ := tab.since(states[i].node, peerCursor{})
				states[i].whole(empty, ch)
			}
			b.ResetTimer()
			for i := range b.N {
				tab.put(&orchpb.Node{Id: "n0", Name: "node0", State: []string{"down", "ready"}[i%2]})
				for _, s := range states {
					ch, _ := tab.since(s.node, s.peers)
					if s.next(empty, ch) == nil && s.node != "n0" {
						b.Fatal("a stream sent nothing for a peer's change")
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(nodes), "µs/stream")
		})
		b.Run(fmt.Sprintf("nodes=%d/whole", nodes), func(b *testing.B) {
			for range b.N {
				for i := range nodes {
					assignmentSet(st, fmt.Sprint("n", i), true)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(nodes), "µs/stream")
		})
	}
}
