package controllers

import (
	"context"
	"sync"
	"time"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// clock is a manual clock for the leader-memory parts (readiness, deadlines).
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Unix(1_700_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// proposer applies commands to the cluster's store as Raft would.
type proposer struct{ c *cluster }

func (p proposer) Apply(_ context.Context, cmd *orchpb.Command) (*orchpb.CommandResult, error) {
	p.c.index++
	return p.c.st.Apply(p.c.index, cmd), nil
}

// withReadiness makes the cluster judge readiness by a tracker on clk,
// observed before every pass, as the service controller does.
func (c *cluster) withReadiness(clk *clock) *Readiness {
	r := NewReadiness(clk.Now)
	c.ready = r.Ready
	c.observe = func() { r.Observe(c.st.Replicas(store.ReplicaFilter{})) }
	return r
}

// agents plays every agent once: replicas told to stop are reported
// stopped, and the others move to what state says (nil: running).
func (c *cluster) agents(state func(rep *orchpb.Replica) orchpb.ReplicaState) {
	c.t.Helper()
	for _, r := range c.st.Replicas(store.ReplicaFilter{}) {
		if r.GetNode() == "" || r.Terminal() {
			continue
		}
		n := c.st.Node(r.GetNode())
		if n == nil || n.Status() == orchpb.NodeDown {
			continue
		}
		want := orchpb.ReplicaRunning
		switch {
		case r.Desired() == orchpb.DesiredStopped:
			want = orchpb.ReplicaStopped
		case state != nil:
			want = state(r)
		}
		if want != "" && r.Observed() != want {
			c.report(r.GetNode(), r.GetId(), want)
		}
	}
}

// counts are a service's replicas as users would count them.
type counts struct {
	live    int // desired running, not finished: what takes room
	running int // desired running and running
	// containers are what agents may still run: placed and not finished,
	// whatever the desired state (a replica told to stop runs until its
	// agent says it stopped).
	containers int
	images     map[string]int
}

func (c *cluster) count(service string) counts {
	out := counts{images: map[string]int{}}
	for _, r := range c.st.Replicas(store.ReplicaFilter{Namespace: "default", Service: service}) {
		if r.GetNode() != "" && !r.Terminal() {
			out.containers++
		}
		if r.Desired() != orchpb.DesiredRunning || r.Terminal() {
			continue
		}
		out.live++
		out.images[r.GetSpec().GetImage()]++
		if r.Observed() == orchpb.ReplicaRunning {
			out.running++
		}
	}
	return out
}

func (c *cluster) svc(name string) *orchpb.Service {
	return c.st.Service("default", name)
}

func (c *cluster) setNode(id string, state orchpb.NodeState) {
	c.t.Helper()
	c.apply(&orchpb.Command{Op: &orchpb.Command_SetNodeState{SetNodeState: &orchpb.SetNodeState{NodeId: id, State: string(state)}}})
}

// startsSlowly plays agents whose new replicas are "starting" for one
// round, then running.
func startsSlowly() func(*orchpb.Replica) orchpb.ReplicaState {
	seen := map[string]int{}
	return func(rep *orchpb.Replica) orchpb.ReplicaState {
		if rep.Observed() == orchpb.ReplicaRunning {
			return orchpb.ReplicaRunning
		}
		seen[rep.GetId()]++
		if seen[rep.GetId()] < 2 {
			return orchpb.ReplicaStarting
		}
		return orchpb.ReplicaRunning
	}
}
