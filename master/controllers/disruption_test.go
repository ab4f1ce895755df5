package controllers

import (
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
