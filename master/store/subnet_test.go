package store

import (
	"fmt"
	"math/rand/v2"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// TestSubnetHintKeepsLowestFree: the search hint is derived state, so a
// master restored from a snapshot (hint reset) must hand out exactly the
// subnets one that never restarted does: always the lowest free /24.
func TestSubnetHintKeepsLowestFree(t *testing.T) {
	rnd := rand.New(rand.NewPCG(4, 2))
	live, restored := New(), New()
	for i := uint64(1); i <= 400; i++ {
		var cmd *orchpb.Command
		name := fmt.Sprint("n", rnd.IntN(40))
		if rnd.IntN(4) == 0 {
			if n := live.NodeByName(name); n != nil {
				cmd = &orchpb.Command{Op: &orchpb.Command_RemoveNode{RemoveNode: &orchpb.RemoveNode{NodeId: n.GetId()}}}
			}
		}
		if cmd == nil {
			cmd = &orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: &orchpb.Node{Name: name}}}}
		}
		live.Apply(i, cmd)
		restored.Apply(i, cmd)
		if rnd.IntN(10) == 0 {
			restored.Restore(restored.Snapshot())
		}
		for _, n := range live.Nodes() {
			if got := restored.Node(n.GetId()).GetSubnet(); got != n.GetSubnet() {
				t.Fatalf("index %d: node %s has subnet %s, the restored store says %s", i, n.GetName(), n.GetSubnet(), got)
			}
		}
	}
	// And the lowest free one it is.
	used := map[string]bool{}
	for _, n := range live.Nodes() {
		used[n.GetSubnet()] = true
	}
	lowest := ""
	for i := 0; i < 256; i++ {
		if s := fmt.Sprintf("10.244.%d.0/24", i); !used[s] {
			lowest = s
			break
		}
	}
	res := live.Apply(1000, &orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: &orchpb.Node{Name: "fresh"}}}})
	if res.GetNode().GetSubnet() != lowest {
		t.Fatalf("new node got %s, want the lowest free %s", res.GetNode().GetSubnet(), lowest)
	}
}
