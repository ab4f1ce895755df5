package controllers

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand"
	"slices"
	"testing"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// TestIncrementalPassesSettleLikeFullOnes drives a random history of
// applies, scales, deletes, node changes, machines joining and agent reports, letting the
// service and update controllers react with incremental passes only (those
// that revisit the services a change touched). Whenever they have settled,
// a full pass over every service must find nothing left to do, and a full
// update pass no rollout to end (no clock moves here, so only a missed
// change could leave it one): revisiting only what moved misses nothing a
// full pass would catch.
func TestIncrementalPassesSettleLikeFullOnes(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			c := newCluster(t)
			ready := NewReadiness(newClock().Now)
			ctl := NewServiceController(ServiceDeps{Store: c.st, Proposer: proposer{c}, NewID: c.newID, Readiness: ready})
			uc := NewUpdateController(UpdateDeps{Store: c.st, Proposer: proposer{c}, Readiness: ready, Logger: slog.New(slog.DiscardHandler)})
			ctx := context.Background()
			if err := ctl.reconcileOnce(ctx, true); err != nil {
				t.Fatal(err)
			}
			if err := uc.pass(ctx, true); err != nil {
				t.Fatal(err)
			}
			var nodes []string
			for i := range 3 {
				nodes = append(nodes, c.node(fmt.Sprint("n", i), 2000))
			}
			for step := range 150 {
				what := randomChange(t, c, rng, &nodes)
				for pass := 0; ; pass++ {
					before := c.st.Index()
					if err := ctl.reconcileOnce(ctx, false); err != nil {
						t.Fatal(err)
					}
					if err := uc.pass(ctx, false); err != nil {
						t.Fatal(err)
					}
					if c.st.Index() == before {
						break
					}
					if pass == 50 {
						t.Fatalf("step %d (%s): incremental passes keep writing", step, what)
					}
				}
				if ch := Reconcile(c.st, c.env()); !ch.Empty() {
					t.Fatalf("step %d (%s): incremental passes settled, but a full pass still puts %v and deletes %v",
						step, what, ch.Put, ch.Delete)
				}
				before := c.st.Index()
				fresh := NewUpdateController(UpdateDeps{Store: c.st, Proposer: proposer{c}, Readiness: ready, Logger: slog.New(slog.DiscardHandler)})
				if err := fresh.pass(ctx, true); err != nil {
					t.Fatal(err)
				}
				if after := c.st.Index(); after != before {
					t.Fatalf("step %d (%s): incremental update passes settled, but a full one still wrote %d entries",
						step, what, after-before)
				}
			}
		})
	}
}

// randomChange makes one change a user, an agent, a new machine or the
// node controller could make, and says what it was.
func randomChange(t *testing.T, c *cluster, rng *rand.Rand, nodes *[]string) string {
	t.Helper()
	name := fmt.Sprint("s", rng.Intn(6))
	switch rng.Intn(9) {
	case 0, 1:
		// Sometimes too big for any node, so that it waits for room.
		cpu := []string{"300m", "700m", "2500m"}[rng.Intn(3)]
		yaml := fmt.Sprintf("kind: Service\nname: %s\nreplicas: %d\nimage: img:%d\nresources: {cpu: %s}\n", name, rng.Intn(4), rng.Intn(2), cpu)
		if rng.Intn(5) == 0 {
			yaml = fmt.Sprintf("kind: Service\nname: %s\nmode: global\nimage: img:%d\nresources: {cpu: %s}\n", name, rng.Intn(2), cpu)
		}
		c.service(yaml)
		return "apply " + name
	case 2:
		if c.st.Service("default", name) == nil {
			return "nothing"
		}
		c.apply(&orchpb.Command{Op: &orchpb.Command_DeleteService{DeleteService: &orchpb.DeleteService{Namespace: "default", Name: name}}})
		return "delete " + name
	case 3:
		if svc := c.st.Service("default", name); svc == nil || svc.GetSpec().GetMode() == orchpb.ModeGlobal {
			return "nothing"
		}
		c.apply(&orchpb.Command{Op: &orchpb.Command_ScaleService{ScaleService: &orchpb.ScaleService{Namespace: "default", Name: name, Replicas: int32(rng.Intn(5))}}})
		return "scale " + name
	case 4:
		id := (*nodes)[rng.Intn(len(*nodes))]
		state := []orchpb.NodeState{orchpb.NodeReady, orchpb.NodeDown, orchpb.NodeDraining, orchpb.NodeCordoned}[rng.Intn(4)]
		c.setNode(id, state)
		return "node " + id + " " + string(state)
	case 5:
		// A machine joins: room for what waits, a node for every global
		// service.
		if len(*nodes) >= 6 {
			return "nothing"
		}
		name := fmt.Sprint("n", len(*nodes))
		*nodes = append(*nodes, c.node(name, []int64{1000, 2000, 3000}[rng.Intn(3)]))
		return "node " + name + " joins"
	default:
		// Agents report: most replicas run, some fail.
		c.agents(func(*orchpb.Replica) orchpb.ReplicaState {
			if rng.Intn(6) == 0 {
				return orchpb.ReplicaFailed
			}
			return orchpb.ReplicaRunning
		})
		return "agents report"
	}
}

func TestChangedServicesAsksForEverythingWhenItCannotTell(t *testing.T) {
	c := newCluster(t)
	st := c.st
	c.node("n1", 4000)
	cur := st.Cursor()
	c.service("kind: Service\nname: a\nreplicas: 1\nimage: a:1\n")
	c.service("kind: Service\nname: b\nreplicas: 1\nimage: b:1\n")
	keys, all, next := st.ChangedServices(cur)
	if all || len(keys) != 2 || keys[0].Name != "a" || keys[1].Name != "b" {
		t.Fatalf("after two applies: keys %v all %v", keys, all)
	}
	if keys, all, _ := st.ChangedServices(next); all || len(keys) != 0 {
		t.Fatalf("with nothing new: keys %v all %v", keys, all)
	}
	snap := st.Snapshot()
	cur = st.Cursor()
	st.Restore(snap)
	if _, all, _ := st.ChangedServices(cur); !all {
		t.Fatal("a restore did not ask for every service")
	}
}

// A node change lists the services with replicas on that node and the
// global services, and leaves the others alone: at thousands of nodes, one
// coming or going must not make the controllers pass over everything.
func TestChangedServicesAfterANodeChange(t *testing.T) {
	c := newCluster(t)
	st := c.st
	n1 := c.node("n1", 4000)
	c.service("kind: Service\nname: a\nreplicas: 1\nimage: a:1\n")
	c.service("kind: Service\nname: g\nmode: global\nimage: g:1\n")
	c.reconcile()
	n2 := c.node("n2", 4000)
	c.service("kind: Service\nname: b\nreplicas: 1\nimage: b:1\nplacement: {constraints: [\"node.name == n2\"]}\n")
	c.reconcile()
	if reps := st.Replicas(store.ReplicaFilter{Namespace: "default", Service: "b"}); len(reps) != 1 || reps[0].GetNode() != n2 {
		t.Fatalf("b's replicas %v, want one on n2", reps)
	}
	for _, tc := range []struct {
		node  string
		state orchpb.NodeState
		want  []string
	}{
		{n1, orchpb.NodeCordoned, []string{"a", "g"}},
		{n2, orchpb.NodeDraining, []string{"b", "g"}},
		{n2, orchpb.NodeDown, []string{"b", "g"}},
	} {
		cur := st.Cursor()
		c.setNode(tc.node, tc.state)
		keys, all, _ := st.ChangedServices(cur)
		var names []string
		for _, k := range keys {
			names = append(names, k.Name)
		}
		if all || !slices.Equal(names, tc.want) {
			t.Errorf("node %s %s: keys %v all %v, want %v", tc.node, tc.state, names, all, tc.want)
		}
	}
	cur := st.Cursor()
	c.node("n3", 4000)
	if keys, all, _ := st.ChangedServices(cur); all || len(keys) != 1 || keys[0].Name != "g" {
		t.Errorf("a new node: keys %v all %v, want only the global service", keys, all)
	}
}
