package controllers

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// crowded is a cluster whose web replicas all run on node a, as after b
// and c joined late.
func crowded(t *testing.T, svc string) *cluster {
	c := newCluster(t)
	c.node("a", 8000)
	c.service(svc)
	c.settle()
	c.node("b", 8000)
	c.node("c", 8000)
	return c
}

func (c *cluster) perNode(service string) map[string]int {
	out := map[string]int{}
	for _, r := range c.live(service) {
		out[c.st.Node(r.GetNode()).GetName()]++
	}
	return out
}

// TestRebalanceDryRunChangesNothing: the plan names the moves and writes
// nothing; a service without a budget moves one replica at a time.
func TestRebalanceDryRunChangesNothing(t *testing.T) {
	c := crowded(t, "kind: Service\nname: web\nreplicas: 4\nimage: web:1\nresources: {cpu: 500m}\n")
	before := c.st.Index()
	moves, cmd := RebalancePlan(c.st)
	if len(moves) != 1 || moves[0].From != "a" || cmd == nil {
		t.Fatalf("moves %+v, want one off a", moves)
	}
	again, _ := RebalancePlan(c.st)
	if c.st.Index() != before || len(again) != 1 || again[0] != moves[0] {
		t.Errorf("planning changed the store or the plan: index %d→%d, %+v then %+v", before, c.st.Index(), moves, again)
	}
}

// TestRebalanceMovesWithinBudget: the moves of a budget of 2 are made
// replacement first, so no fewer than the desired replicas ever run, and
// the spread comes back.
func TestRebalanceMovesWithinBudget(t *testing.T) {
	c := crowded(t, "kind: Service\nname: web\nreplicas: 6\nimage: web:1\nresources: {cpu: 500m}\ndisruption: {maxUnavailable: 2}\n")
	for round := 0; round < 5; round++ {
		moves, cmd := RebalancePlan(c.st)
		if len(moves) > 2 {
			t.Fatalf("round %d: %d moves at once, budget 2", round, len(moves))
		}
		if cmd == nil {
			break
		}
		if res := c.apply(cmd); len(res.GetRejected()) > 0 {
			t.Fatalf("moves rejected: %v", res.GetRejected())
		}
		for pass := 0; pass < 10; pass++ {
			ch := c.reconcile()
			if n := c.count("web").running; n < 6 {
				t.Fatalf("round %d pass %d: %d running, want never below 6", round, pass, n)
			}
			c.agents(nil)
			if ch.Empty() {
				break
			}
		}
	}
	if got := c.perNode("web"); got["a"] != 2 || got["b"] != 2 || got["c"] != 2 {
		t.Errorf("spread %v, want 2 per node", got)
	}
	for _, r := range c.st.Replicas(store.ReplicaFilter{Namespace: "default", Service: "web"}) {
		if r.GetMoving() && r.Desired() == orchpb.DesiredRunning {
			t.Errorf("%s still moving", r.DisplayName())
		}
		if r.GetMoving() && r.GetMessage() != "moved by rebalance" {
			t.Errorf("%s stopped with %q", r.DisplayName(), r.GetMessage())
		}
	}
	if moves, _ := RebalancePlan(c.st); len(moves) != 0 {
		t.Errorf("balanced, yet moves %+v", moves)
	}
}

// TestRebalanceControllerMarksMoves: the opt-in controller finds the move
// by itself and marks it through the proposer.
func TestRebalanceControllerMarksMoves(t *testing.T) {
	c := crowded(t, "kind: Service\nname: web\nreplicas: 4\nimage: web:1\nresources: {cpu: 500m}\n")
	ctx, cancel := context.WithCancel(context.Background())
	rc := NewRebalanceController(RebalanceDeps{Store: c.st, Proposer: proposer{c}, Interval: 10 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	done := make(chan error, 1)
	go func() { done <- rc.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	marked := 0
	for marked == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		for _, r := range c.st.Replicas(store.ReplicaFilter{Namespace: "default", Service: "web"}) {
			if r.GetMoving() {
				marked++
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if marked != 1 {
		t.Errorf("%d replicas marked moving, want 1 (no budget: one at a time)", marked)
	}
}
