package scheduler

import (
	"reflect"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

func rebalanceInput(c *testCluster, allowance int32, specs ...*orchpb.ServiceSpec) RebalanceInput {
	in := RebalanceInput{Nodes: c.in.Nodes, Replicas: c.in.Replicas, Specs: specs, Allowance: map[ServiceID]int32{}}
	for _, s := range specs {
		in.Allowance[ServiceID{s.Namespace, s.Name}] = allowance
	}
	return in
}

func moves(c *testCluster, ms []Move) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ReplicaID+":"+c.nameOf(m.From)+">"+c.nameOf(m.To))
	}
	return out
}

func TestRebalanceRestoresSpread(t *testing.T) {
	c := newCluster(t).nodes(3, "n")
	for i := 0; i < 4; i++ {
		c.run("web", "n1", 100, 128*mi)
	}
	c.run("web", "n2", 100, 128*mi)
	for i, r := range c.in.Replicas {
		r.Slot = int32(i + 1)
		r.State = string(orchpb.ReplicaRunning)
	}
	spec := req("web", 0).Spec
	before := cloneInput(c.in)
	got := moves(c, Rebalance(rebalanceInput(c, 5, spec)))
	// n1 4, n2 1, n3 0: two moves leave 2, 1, 2 (or 2, 2, 1); no third.
	if want := []string{"web.existing3:n1>n3", "web.existing2:n1>n2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("moves %v, want %v", got, want)
	}
	if !inputEqual(before, c.in) {
		t.Error("Rebalance modified its input")
	}
	if got := Rebalance(rebalanceInput(c, 1, spec)); len(got) != 1 {
		t.Errorf("allowance 1: %d moves, want 1", len(got))
	}
	if got := Rebalance(rebalanceInput(c, 0, spec)); len(got) != 0 {
		t.Errorf("allowance 0: %d moves, want none", len(got))
	}
}

func TestRebalanceLeavesSpreadAlone(t *testing.T) {
	c := newCluster(t).nodes(2, "n")
	c.run("web", "n1", 100, 128*mi).run("web", "n1", 100, 128*mi).run("web", "n2", 100, 128*mi)
	for _, r := range c.in.Replicas {
		r.State = string(orchpb.ReplicaRunning)
	}
	if got := Rebalance(rebalanceInput(c, 3, req("web", 0).Spec)); len(got) != 0 {
		t.Errorf("2 and 1 is spread: moves %v", moves(c, got))
	}
	// A replica already moving counts on neither node: n1 keeps 1.
	c.in.Replicas[0].Moving = true
	if got := Rebalance(rebalanceInput(c, 3, req("web", 0).Spec)); len(got) != 0 {
		t.Errorf("with one moving: moves %v", moves(c, got))
	}
	// Constraints hold: the only lighter node is excluded.
	c = newCluster(t).node("n1", labels("zone=a")).node("n2", labels("zone=b"))
	c.run("web", "n1", 100, 128*mi).run("web", "n1", 100, 128*mi)
	for _, r := range c.in.Replicas {
		r.State = string(orchpb.ReplicaRunning)
	}
	if got := Rebalance(rebalanceInput(c, 3, req("web", 0, constraint("zone == a")).Spec)); len(got) != 0 {
		t.Errorf("constrained to zone a: moves %v", moves(c, got))
	}
}
