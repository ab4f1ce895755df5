package controllers

import (
	"fmt"
	"testing"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// drainUnderBudget drains node a of a 6-replica service that may only stop
// first (maxSurge 0) and returns the fewest running seen and how many
// replicas are still meant to run on a.
func drainUnderBudget(t *testing.T, policy, budget string) (minRunning, leftOnA int) {
	c := newCluster(t)
	a := c.node("a", 4000)
	c.node("b", 4000)
	c.node("c", 4000)
	c.service(webSpec("web:1", 6, policy) + budget)
	c.reconcile()
	c.agents(nil)
	c.setNode(a, orchpb.NodeDraining)
	slow := startsSlowly()
	minRunning = 6
	for range 30 {
		c.reconcile()
		minRunning = min(minRunning, c.count("web").running)
		c.agents(slow)
		minRunning = min(minRunning, c.count("web").running)
	}
	for _, r := range c.st.Replicas(store.ReplicaFilter{Node: a}) {
		if r.Desired() == orchpb.DesiredRunning {
			leftOnA++
		}
	}
	return minRunning, leftOnA
}

// TestDrainHonoursDisruptionBudget: the update policy would let three
// replicas stop at once; the budget lets one.
func TestDrainHonoursDisruptionBudget(t *testing.T) {
	minRunning, left := drainUnderBudget(t, "maxSurge: 0, maxUnavailable: 3", "disruption: {maxUnavailable: 1}\n")
	if minRunning < 5 {
		t.Errorf("only %d of 6 ran at one point, want at least 5 under a budget of 1", minRunning)
	}
	if left != 0 {
		t.Errorf("%d replicas still on the draining node", left)
	}
	// Without the budget the same drain goes three at a time: the test
	// can tell the difference.
	minRunning, _ = drainUnderBudget(t, "maxSurge: 0, maxUnavailable: 3", "")
	if minRunning >= 5 {
		t.Errorf("without a budget %d ran at least; the budget test proves nothing", minRunning)
	}
}

// TestDrainBlockedByBudgetZero: a budget of 0 and no surge room leave the
// drain waiting rather than stop anything.
func TestDrainBlockedByBudgetZero(t *testing.T) {
	minRunning, left := drainUnderBudget(t, "maxSurge: 0, maxUnavailable: 1", "disruption: {maxUnavailable: 0}\n")
	if minRunning != 6 {
		t.Errorf("%d of 6 ran at one point, want all 6 under a budget of 0", minRunning)
	}
	if left == 0 {
		t.Error("the drain finished although every move would break the budget")
	}
}

// TestGlobalUpdateHonoursDisruptionBudget: a global service publishing a
// host port rolls stop-first; its update policy would let three nodes go
// at once, its budget one.
func TestGlobalUpdateHonoursDisruptionBudget(t *testing.T) {
	for _, tc := range []struct {
		budget     string
		minRunning int
	}{{"disruption: {maxUnavailable: 1}\n", 3}, {"", 1}} {
		c := newCluster(t)
		for i := range 4 {
			c.node(fmt.Sprint("n", i), 4000)
		}
		spec := "kind: Service\nname: agent\nmode: global\nimage: %s\nports: [{port: 80, hostPort: 80}]\n" +
			"update: {maxSurge: 0, maxUnavailable: 3}\n" + tc.budget
		c.service(fmt.Sprintf(spec, "agent:1"))
		c.reconcile()
		c.agents(nil)
		c.service(fmt.Sprintf(spec, "agent:2"))
		slow := startsSlowly()
		minRunning := 4
		for range 30 {
			c.reconcile()
			minRunning = min(minRunning, c.count("agent").running)
			c.agents(slow)
			minRunning = min(minRunning, c.count("agent").running)
		}
		if n := c.count("agent"); n.images["agent:2"] != 4 || n.running != 4 {
			t.Fatalf("budget %q: %+v, want agent:2 running on all 4 nodes", tc.budget, n)
		}
		if minRunning != tc.minRunning {
			t.Errorf("budget %q: at least %d ran throughout, want %d", tc.budget, minRunning, tc.minRunning)
		}
	}
}
