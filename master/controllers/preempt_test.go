package controllers

import (
	"strings"
	"testing"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

const (
	lowPriority  = "kind: Service\nname: batch\nreplicas: 2\nimage: batch:1\nresources: {cpu: 1}\n"
	highPriority = "kind: Service\nname: api\nreplicas: 1\npriority: 100\nimage: api:1\nresources: {cpu: 1}\n"
)

// settle runs passes with every agent answering until nothing changes, and
// fails past a bound: a preemption loop would never settle.
func (c *cluster) settle() (passes int) {
	c.t.Helper()
	for passes = 1; passes <= 20; passes++ {
		ch := c.reconcile()
		c.agents(nil)
		if ch.Empty() {
			return passes
		}
	}
	c.t.Fatalf("no steady state after 20 passes")
	return 0
}

// TestPreemptionDoesNotLoop: a higher-priority replica with no room stops
// the fewest lower-priority replicas; the victim says who preempted it;
// its replacement, of lower priority, never preempts back and stays
// pending with the scheduler's reason; equal priorities never preempt.
func TestPreemptionDoesNotLoop(t *testing.T) {
	c := newCluster(t)
	c.node("a", 2000)
	c.service(lowPriority)
	c.settle()
	if got := c.count("batch"); got.running != 2 {
		t.Fatalf("batch running %d, want 2", got.running)
	}
	c.service(highPriority)
	c.reconcile()
	var victim *orchpb.Replica
	for _, r := range c.st.Replicas(store.ReplicaFilter{Namespace: "default", Service: "batch"}) {
		if r.Desired() == orchpb.DesiredStopped {
			if victim != nil {
				t.Fatalf("two victims; one frees enough room")
			}
			victim = r
		}
	}
	if victim == nil || victim.GetMessage() != "preempted by service api" {
		t.Fatalf("victim %v, want one batch replica with message preempted by service api", victim)
	}
	if api := c.live("api"); len(api) != 1 || api[0].GetNode() == "" {
		t.Fatalf("api %v, want placed in the pass that preempted", api)
	}
	c.agents(nil)
	c.settle()
	if got := c.count("api"); got.running != 1 {
		t.Errorf("api running %d, want 1", got.running)
	}
	pending := 0
	for _, r := range c.live("batch") {
		if r.GetNode() == "" {
			pending++
			if !strings.Contains(r.GetMessage(), "lacks cpu") {
				t.Errorf("pending batch says %q, want the scheduler's reason", r.GetMessage())
			}
		}
	}
	if pending != 1 || c.count("batch").running != 1 {
		t.Errorf("batch: %d pending, %d running; want 1 and 1", pending, c.count("batch").running)
	}
	preempted := 0
	for _, r := range c.st.Replicas(store.ReplicaFilter{}) {
		if strings.HasPrefix(r.GetMessage(), orchpb.PreemptedBy) {
			preempted++
		}
	}
	if preempted > 1 {
		t.Errorf("%d replicas preempted, want 1", preempted)
	}

	// Another of priority 100 takes the last batch replica's room; then a
	// third finds only equals and waits, preempting nothing.
	c.service("kind: Service\nname: peer\nreplicas: 1\npriority: 100\nimage: p:1\nresources: {cpu: 1}\n")
	c.settle()
	c.service("kind: Service\nname: third\nreplicas: 1\npriority: 100\nimage: p:1\nresources: {cpu: 1}\n")
	c.settle()
	if p := c.live("third"); len(p) != 1 || p[0].GetNode() != "" {
		t.Errorf("third %v, want pending", p)
	}
	if a, p, b := c.count("api").running, c.count("peer").running, c.count("batch").running; a != 1 || p != 1 || b != 0 {
		t.Errorf("running api %d peer %d batch %d, want 1 1 0", a, p, b)
	}
}
