package controllers

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// TestConflictingPlansNeverOvercommit makes two plans from the same state,
// as two leaders (or two passes racing) would, and applies both: the FSM
// re-checks every placement against the state it is applied to, so the
// second plan is partly rejected rather than over-committing a node, and
// later passes converge to one replica per slot. Random clusters, checked
// after every command.
func TestConflictingPlansNeverOvercommit(t *testing.T) {
	rejected := 0
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 7))
			c := newCluster(t)
			for i := range 2 + rnd.IntN(5) {
				n := &orchpb.Node{Id: fmt.Sprint("n", i), Name: fmt.Sprint("node", i), State: string(orchpb.NodeReady), Address: "10.0.0.1",
					Capacity: &orchpb.ResourceAmounts{CpuMillis: int64(500 + 250*rnd.IntN(15)), MemoryBytes: int64(256+256*rnd.IntN(8)) << 20}}
				c.apply(&orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: n}}})
			}
			for i := range 2 + rnd.IntN(4) {
				yaml := fmt.Sprintf("kind: Service\nname: s%d\nreplicas: %d\nimage: s:1\nresources: {cpu: %dm, memory: %dMi}\n",
					i, 1+rnd.IntN(6), 100*(1+rnd.IntN(15)), 32*(1+rnd.IntN(16)))
				if rnd.IntN(3) == 0 {
					yaml += "ports: [{port: 80, hostPort: 8080}]\n"
				}
				c.service(yaml)
			}
			ids := func(prefix string) func() string {
				n := 0
				return func() string { n++; return fmt.Sprintf("%s%d", prefix, n) }
			}
			a := Reconcile(c.st, Env{NewID: ids("a")})
			b := Reconcile(c.st, Env{NewID: ids("b")})
			for _, ch := range []*Changes{a, b} {
				res := c.apply(&orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: ch.Put, ExpectedVersions: ch.Expected}}})
				rejected += len(res.GetRejected())
				checkNoOvercommit(t, c.st)
			}
			next := ids("c")
			for range 10 {
				ch := Reconcile(c.st, Env{NewID: next})
				if len(ch.Put) > 0 {
					c.apply(&orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: ch.Put, ExpectedVersions: ch.Expected}}})
				}
				if len(ch.Delete) > 0 {
					c.apply(&orchpb.Command{Op: &orchpb.Command_DeleteReplicas{DeleteReplicas: &orchpb.DeleteReplicas{Ids: ch.Delete}}})
				}
				checkNoOvercommit(t, c.st)
				c.agents(nil)
			}
			for _, svc := range c.st.Services("") {
				slots := map[int32]int{}
				for _, r := range c.st.Replicas(store.ReplicaFilter{Namespace: "default", Service: svc.GetSpec().GetName()}) {
					if r.Desired() == orchpb.DesiredRunning {
						slots[r.GetSlot()]++
					}
				}
				for slot, n := range slots {
					if n > 1 {
						t.Errorf("%s.%d has %d live replicas after converging, want 1", svc.GetSpec().GetName(), slot, n)
					}
				}
				if int32(len(slots)) != svc.GetSpec().GetReplicas() {
					t.Errorf("%s has %d slots, want %d", svc.GetSpec().GetName(), len(slots), svc.GetSpec().GetReplicas())
				}
			}
		})
	}
	if rejected == 0 {
		t.Fatal("no plan was ever rejected: the clusters are too roomy to test conflicts")
	}
	t.Logf("%d placements of second plans rejected", rejected)
}

// checkNoOvercommit recomputes every node's load from the replicas that
// count and compares it with capacity, and host ports with each other.
func checkNoOvercommit(t *testing.T, st *store.Store) {
	t.Helper()
	type load struct{ cpu, mem int64 }
	loads := map[string]load{}
	ports := map[string]string{}
	for _, r := range st.Replicas(store.ReplicaFilter{}) {
		if r.GetNode() == "" || r.Desired() == orchpb.DesiredStopped || r.Terminal() {
			continue
		}
		l := loads[r.GetNode()]
		l.cpu += r.GetResources().GetCpuMillis()
		l.mem += r.GetResources().GetMemoryBytes()
		loads[r.GetNode()] = l
		for _, p := range r.GetHostPorts() {
			k := fmt.Sprint(r.GetNode(), ":", p)
			if other, taken := ports[k]; taken {
				t.Fatalf("host port %s held by %s and %s", k, other, r.GetId())
			}
			ports[k] = r.GetId()
		}
	}
	for id, l := range loads {
		n := st.Node(id)
		if l.cpu > n.GetCapacity().GetCpuMillis() || l.mem > n.GetCapacity().GetMemoryBytes() {
			t.Fatalf("node %s over capacity: %dm/%dB of %dm/%dB", n.GetName(), l.cpu, l.mem, n.GetCapacity().GetCpuMillis(), n.GetCapacity().GetMemoryBytes())
		}
	}
}
