package hollow_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/hollow"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// The acceptance tests of issue 4 that are about scheduling and the
// controllers, on a real master with hollow nodes.

// healthSim plays a health check: a replica with one reports "starting"
// for its first second, then running; an image tagged :bad never passes.
func healthSim(rep *orchpb.Replica, spec *orchpb.ServiceSpec, age time.Duration) (orchpb.ReplicaState, string) {
	if spec.GetHealth() == nil {
		return orchpb.ReplicaRunning, ""
	}
	switch {
	case strings.HasSuffix(spec.GetImage(), ":bad") && age > 300*time.Millisecond:
		return orchpb.ReplicaUnhealthy, "health check failed: GET /healthz: 500"
	case age < time.Second:
		return orchpb.ReplicaStarting, ""
	}
	return orchpb.ReplicaRunning, ""
}

// tracker follows every change the master applies and checks a condition
// on one service at every Raft index: "at no moment" means at no applied
// index.
type tracker struct {
	mu         sync.Mutex
	reps       map[string]*orchpb.Replica
	nodes      map[string]*orchpb.Node
	violations []string
	checked    int
	stop       func()
	done       chan struct{}
}

func (c *cluster) track(service string, check func(reps []*orchpb.Replica, nodes map[string]*orchpb.Node) error) *tracker {
	c.t.Helper()
	st := c.m.Store()
	ctx, cancel := context.WithCancel(c.ctx)
	tr := &tracker{reps: map[string]*orchpb.Replica{}, nodes: map[string]*orchpb.Node{}, stop: cancel, done: make(chan struct{})}
	from := st.Index()
	events, err := st.Watch(ctx, from)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, r := range st.Replicas(store.ReplicaFilter{Namespace: "default", Service: service}) {
		tr.reps[r.GetId()] = r
	}
	for _, n := range st.Nodes() {
		tr.nodes[n.GetId()] = n
	}
	evaluate := func(index uint64) {
		reps := make([]*orchpb.Replica, 0, len(tr.reps))
		for _, r := range tr.reps {
			reps = append(reps, r)
		}
		tr.mu.Lock()
		tr.checked++
		if err := check(reps, tr.nodes); err != nil {
			tr.violations = append(tr.violations, fmt.Sprintf("index %d: %v", index, err))
		}
		tr.mu.Unlock()
	}
	go func() {
		defer close(tr.done)
		pending := from
		for ev := range events {
			if ev.Index != pending {
				evaluate(pending)
				pending = ev.Index
			}
			switch o := ev.Object.(type) {
			case *orchpb.Replica:
				if o.GetService() != service {
					continue
				}
				if ev.Type == store.EventDelete {
					delete(tr.reps, o.GetId())
				} else {
					tr.reps[o.GetId()] = o
				}
			case *orchpb.Node:
				tr.nodes[o.GetId()] = o
			}
		}
		evaluate(pending)
	}()
	return tr
}

// finish stops the tracker and fails the test on any violation.
func (tr *tracker) finish(t *testing.T) {
	t.Helper()
	tr.stop()
	<-tr.done
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.checked < 5 {
		t.Errorf("only %d states checked: the tracker saw nothing happen", tr.checked)
	}
	for i, v := range tr.violations {
		if i == 10 {
			t.Errorf("... and %d more", len(tr.violations)-10)
			break
		}
		t.Error(v)
	}
}

// containers counts what agents run or may still run: placed, not
// finished, on a node that is not down, whatever the desired state.
func containers(reps []*orchpb.Replica, nodes map[string]*orchpb.Node) (running, all int) {
	for _, r := range reps {
		n := nodes[r.GetNode()]
		if r.GetNode() == "" || r.Terminal() || n == nil || n.Status() == orchpb.NodeDown {
			continue
		}
		all++
		if r.Observed() == orchpb.ReplicaRunning && r.Desired() == orchpb.DesiredRunning {
			running++
		}
	}
	return running, all
}

// Acceptance 3: kill -9 an agent that runs 2 of 4 replicas: both are
// replaced on other nodes and running; when the agent comes back its old
// replicas are stopped and removed.
func TestNodeLossReplacesAndCleansUp(t *testing.T) {
	c := startCluster(t, 2*time.Second)
	f := c.fleet(hollow.Config{Count: 3, Prefix: "h"})
	c.apply("kind: Service\nname: web\nreplicas: 4\nimage: web:1\nresources: {cpu: 100m}\n")
	reps := c.running("web", 4, 20*time.Second)
	perNode := map[string][]string{}
	for _, r := range reps {
		perNode[r.GetNode()] = append(perNode[r.GetNode()], r.GetId())
	}
	var victim *hollow.Node
	for _, n := range f.Nodes() {
		if len(perNode[n.ID()]) == 2 {
			victim = n
		}
	}
	if victim == nil {
		t.Fatalf("no node runs 2 of the 4 replicas: %s", summary(reps))
	}
	old := perNode[victim.ID()]
	killed := time.Now()
	victim.Kill()
	c.eventually(20*time.Second, "both replicas are replaced elsewhere and running", func() error {
		reps := c.live("web")
		running := 0
		for _, r := range reps {
			if r.GetNode() == victim.ID() {
				return fmt.Errorf("%s still on the dead node", r.DisplayName())
			}
			if r.Observed() == orchpb.ReplicaRunning {
				running++
			}
		}
		if running != 4 {
			return fmt.Errorf("%d running: %s", running, summary(reps))
		}
		return nil
	})
	t.Logf("replaced %v %s after the kill (node timeout 2s)", old, time.Since(killed).Round(10*time.Millisecond))
	if got := victim.Replicas(); len(got) != 2 {
		t.Fatalf("the dead node holds %v, want its 2 old replicas (containers outlive their agent)", got)
	}
	if err := victim.Restart(c.ctx, nil); err != nil {
		t.Fatal(err)
	}
	c.eventually(20*time.Second, "the returning node stops its old replicas and the master forgets them", func() error {
		if got := victim.Replicas(); len(got) != 0 {
			return fmt.Errorf("the node still runs %v", got)
		}
		for _, id := range old {
			r, err := c.api.GetReplica(c.ctx, id, "default")
			if err == nil {
				return fmt.Errorf("%s still recorded: %s/%s", id, r.GetDesiredState(), r.GetState())
			}
			if !strings.Contains(err.Error(), "not found") {
				return err
			}
		}
		n, err := c.api.GetNode(c.ctx, victim.Name())
		if err != nil {
			return err
		}
		if n.Status() != orchpb.NodeReady {
			return fmt.Errorf("node is %s", n.GetState())
		}
		return nil
	})
	c.running("web", 4, 5*time.Second)
}

// Acceptance 4: drain a node with replicas of a service that has a health
// check: at no moment are fewer healthy replicas running than
// replicas - maxUnavailable, nor more than replicas + maxSurge taking room.
func TestDrainKeepsServiceAvailable(t *testing.T) {
	c := startCluster(t, 3*time.Second)
	f := c.fleet(hollow.Config{Count: 3, Prefix: "h", Behavior: healthSim})
	c.apply(`kind: Service
name: web
replicas: 6
image: web:1
ports: [{port: 8080}]
resources: {cpu: 100m}
health: {http: {path: /healthz}}
update: {maxSurge: 1, maxUnavailable: 1}
`)
	reps := c.running("web", 6, 30*time.Second)
	target := f.Nodes()[0]
	on := 0
	for _, r := range reps {
		if r.GetNode() == target.ID() {
			on++
		}
	}
	if on == 0 {
		t.Fatalf("nothing on %s: %s", target.Name(), summary(reps))
	}
	tr := c.track("web", func(reps []*orchpb.Replica, nodes map[string]*orchpb.Node) error {
		running, all := containers(reps, nodes)
		if running < 5 {
			return fmt.Errorf("%d healthy replicas running, want at least 6-1", running)
		}
		if all > 7 {
			return fmt.Errorf("%d replicas on nodes, want at most 6+1", all)
		}
		return nil
	})
	if _, err := c.api.SetNodeState(c.ctx, target.Name(), "drain"); err != nil {
		t.Fatal(err)
	}
	c.eventually(60*time.Second, "the drained node runs nothing and 6 replicas run elsewhere", func() error {
		if got := target.Replicas(); len(got) != 0 {
			return fmt.Errorf("%s still runs %d replicas", target.Name(), len(got))
		}
		reps := c.live("web")
		running := 0
		for _, r := range reps {
			if r.Observed() == orchpb.ReplicaRunning {
				running++
			}
		}
		if running != 6 || len(reps) != 6 {
			return fmt.Errorf("%d live, %d running: %s", len(reps), running, summary(reps))
		}
		return nil
	})
	tr.finish(t)
	n, err := c.api.GetNode(c.ctx, target.Name())
	if err != nil {
		t.Fatal(err)
	}
	if n.Status() != orchpb.NodeDraining {
		t.Errorf("node is %s after the drain, want draining until uncordoned", n.GetState())
	}
	c.eventually(10*time.Second, "a Drained event", func() error {
		evs, err := c.api.Events(c.ctx, client.EventFilter{Node: target.Name()})
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.Reason == "Drained" {
				return nil
			}
		}
		return fmt.Errorf("events of %s: %v", target.Name(), evs)
	})
}

// Acceptance 5: update a 4-replica service to a working image: every
// replica moves to it with never more than replicas + maxSurge on nodes;
// then to one whose health check never passes: the update fails, rolls
// back, and every replica runs the old spec again.
func TestRollingUpdateAndRollback(t *testing.T) {
	c := startCluster(t, 3*time.Second)
	c.fleet(hollow.Config{Count: 3, Prefix: "h", Behavior: healthSim})
	const spec = `kind: Service
name: web
replicas: 4
image: %s
ports: [{port: 8080}]
resources: {cpu: 100m}
health: {http: {path: /healthz}}
update: {maxSurge: 1, maxUnavailable: 0, deadline: 4s, onFailure: rollback}
`
	c.apply(fmt.Sprintf(spec, "web:1"))
	c.running("web", 4, 30*time.Second)
	tr := c.track("web", func(reps []*orchpb.Replica, nodes map[string]*orchpb.Node) error {
		running, all := containers(reps, nodes)
		if all > 5 {
			return fmt.Errorf("%d replicas on nodes, want at most 4+1", all)
		}
		if running < 4 {
			return fmt.Errorf("%d healthy replicas running, want at least 4-0", running)
		}
		return nil
	})
	c.apply(fmt.Sprintf(spec, "web:2"))
	c.eventually(60*time.Second, "generation 2 rolled out", func() error {
		svc := c.service("web")
		st := svc.GetStatus()
		if st.RolloutState() != orchpb.UpdateCompleted || st.GetUpdated() != 4 || st.GetUpdating() {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})
	tr.finish(t)
	for _, r := range c.running("web", 4, time.Second) {
		if r.GetSpec().GetImage() != "web:2" {
			t.Fatalf("%s runs %s after the update", r.DisplayName(), r.GetSpec().GetImage())
		}
	}

	c.apply(fmt.Sprintf(spec, "web:bad"))
	c.eventually(60*time.Second, "the failed update rolled back", func() error {
		svc := c.service("web")
		st := svc.GetStatus()
		if st.LastRolloutResult() != orchpb.UpdateRolledBack || svc.GetSpec().GetImage() != "web:2" {
			return fmt.Errorf("generation %d image %s status %v", svc.GetGeneration(), svc.GetSpec().GetImage(), st)
		}
		if !strings.Contains(st.GetMessage(), "not running within 4s") {
			return fmt.Errorf("message %q does not say why", st.GetMessage())
		}
		return nil
	})
	for _, r := range c.running("web", 4, 10*time.Second) {
		if r.GetSpec().GetImage() != "web:2" {
			t.Fatalf("%s runs %s after the rollback", r.DisplayName(), r.GetSpec().GetImage())
		}
	}
	evs, err := c.api.Events(c.ctx, client.EventFilter{Service: "web", Kind: "service"})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range evs {
		reasons = append(reasons, e.Reason)
	}
	if got := strings.Join(reasons, " "); !strings.Contains(got, "UpdateStarted UpdateCompleted UpdateStarted RollingBack RolledBack") {
		t.Errorf("service events %q, want the update, its failure and the rollback told", got)
	}
}

// Global mode follows nodes: one replica on each eligible node, a new one
// when a node joins, gone when a node's labels exclude it.
func TestGlobalFollowsJoiningAndRelabelledNodes(t *testing.T) {
	c := startCluster(t, 3*time.Second)
	f := c.fleet(hollow.Config{Count: 2, Prefix: "h", Labels: map[string]string{"role": "worker"}})
	c.apply("kind: Service\nname: mon\nmode: global\nimage: mon:1\nplacement: {constraints: [\"role == worker\"]}\n")
	c.running("mon", 2, 20*time.Second)
	c.fleet(hollow.Config{Count: 1, Prefix: "h", First: 3, Labels: map[string]string{"role": "worker"}})
	c.running("mon", 3, 20*time.Second)
	if err := f.Nodes()[0].Restart(c.ctx, map[string]string{"role": "edge"}); err != nil {
		t.Fatal(err)
	}
	reps := c.running("mon", 2, 20*time.Second)
	for _, r := range reps {
		if r.GetNode() == f.Nodes()[0].ID() {
			t.Fatalf("a replica still runs on the relabelled node: %s", summary(reps))
		}
	}
}
