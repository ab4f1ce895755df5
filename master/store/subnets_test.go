package store

import (
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

func TestDefaultRangeHolds8192Nodes(t *testing.T) {
	n, err := NodeSubnets(DefaultClusterCIDR)
	if err != nil || n < 8192 {
		t.Fatalf("NodeSubnets(%s) = %d, %v; want at least 8192", DefaultClusterCIDR, n, err)
	}
	for _, bad := range []string{"10.0.0.0/25", "fd00::/64", "nonsense", "10.0.0.0/7"} {
		if _, err := NodeSubnets(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("NodeSubnets(%q) = %v, want an error naming it", bad, err)
		}
	}
}

// TestFullRangeIsAClearError fills a /23 (two node subnets): the third node
// is refused with a sentence saying what is full and what to do, and
// removing a node frees its subnet for the next one.
func TestFullRangeIsAClearError(t *testing.T) {
	s := New()
	mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_SetClusterConfig{SetClusterConfig: &orchpb.SetClusterConfig{
		Config: &orchpb.ClusterConfig{ClusterCidr: "10.50.0.0/23", ClusterId: "abc"}}}})
	for i, name := range []string{"one", "two"} {
		res := mustApply(t, s, registerNode("n"+name, name, 0, 0))
		if want := []string{"10.50.0.0/24", "10.50.1.0/24"}[i]; res.Node.Subnet != want {
			t.Errorf("node %s got %s, want %s", name, res.Node.Subnet, want)
		}
	}
	res := s.Apply(s.Index()+1, registerNode("nthree", "three", 0, 0))
	if res.ErrorCode == "" || !strings.Contains(res.Error, "10.50.0.0/23 is full") || !strings.Contains(res.Error, "all 2 node subnets") ||
		!strings.Contains(res.Error, "orchctl node remove") {
		t.Fatalf("third node in a full range: %s %q", res.ErrorCode, res.Error)
	}
	mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_RemoveNode{RemoveNode: &orchpb.RemoveNode{NodeId: "none"}}})
	if got := mustApply(t, s, registerNode("nthree", "three", 0, 0)).Node.Subnet; got != "10.50.0.0/24" {
		t.Errorf("after a removal the new node got %s, want the freed 10.50.0.0/24", got)
	}
}

// TestUnrecordedRangeStaysLegacy: a cluster whose config records no range
// keeps allocating from the range it always had, not from this build's
// default, so replaying its log gives every node the subnet it had.
func TestUnrecordedRangeStaysLegacy(t *testing.T) {
	s := New()
	if got := mustApply(t, s, registerNode("n1", "one", 0, 0)).Node.Subnet; got != "10.244.0.0/24" {
		t.Errorf("subnet without a recorded range = %s, want 10.244.0.0/24", got)
	}
	if s.ClusterCIDR() != "10.244.0.0/16" {
		t.Errorf("ClusterCIDR() = %s", s.ClusterCIDR())
	}
}
