package scheduler

import (
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

func volumes(pins map[int32]string) reqOpt {
	return func(r *Request) {
		r.Volumes = map[int32]VolumePin{}
		for slot, node := range pins {
			r.Volumes[slot] = VolumePin{Node: node, Volume: "data"}
		}
	}
}

// TestVolumePins: a slot whose volume is bound goes to that node only,
// even against spread; the others are placed as usual.
func TestVolumePins(t *testing.T) {
	c := newCluster(t).nodes(3, "n")
	p := c.schedule(req("db", 3, volumes(map[int32]string{1: c.idOf("n3"), 2: c.idOf("n3")})))
	if len(p.Unplaced) != 0 || len(p.Placements) != 3 {
		t.Fatalf("plan %+v", p.Plan)
	}
	for _, pl := range p.Placements {
		if (pl.ReplicaID == "db.1" || pl.ReplicaID == "db.2") && c.nameOf(pl.NodeID) != "n3" {
			t.Fatalf("%s placed on %s, its volume is on n3", pl.ReplicaID, c.nameOf(pl.NodeID))
		}
	}
}

// TestVolumePinWaits: while the volume's node is down, cordoned or
// draining the slot waits with the message of docs/stateful.md; on a ready
// node without room the message adds why.
func TestVolumePinWaits(t *testing.T) {
	for _, st := range []orchpb.NodeState{orchpb.NodeDown, orchpb.NodeCordoned, orchpb.NodeDraining} {
		c := newCluster(t).node("n1").node("n2", state(st))
		p := c.schedule(req("db", 1, volumes(map[int32]string{1: c.idOf("n2")})))
		if len(p.Placements) != 0 || len(p.Unplaced) != 1 || p.Unplaced[0].Reason != "waiting for node n2, which holds volume data" {
			t.Fatalf("node %s: plan %+v", st, p.Plan)
		}
	}
	c := newCluster(t).node("n1").node("n2", capacity(4000, 64*mi))
	p := c.schedule(req("db", 1, volumes(map[int32]string{1: c.idOf("n2")})))
	if len(p.Unplaced) != 1 || !strings.HasPrefix(p.Unplaced[0].Reason, "waiting for node n2, which holds volume data: 0/1 nodes can run it: 1 lacks memory") {
		t.Fatalf("full node: plan %+v", p.Plan)
	}
	c = newCluster(t).node("n1")
	p = c.schedule(req("db", 1, volumes(map[int32]string{1: "id-gone"})))
	if len(p.Unplaced) != 1 || p.Unplaced[0].Reason != "waiting for node id-gone, which holds volume data" {
		t.Fatalf("removed node: plan %+v", p.Plan)
	}
	// Explain (orchctl plan) says the same for the slot.
	c = newCluster(t).node("n1").node("n2", state(orchpb.NodeDown))
	if got := Explain(c.in, req("db", 1, volumes(map[int32]string{1: c.idOf("n2")}))); got != "waiting for node n2, which holds volume data" {
		t.Fatalf("explain: %q", got)
	}
}

// TestVolumePinPreempts: a pinned slot of a higher priority preempts only
// on its own node.
func TestVolumePinPreempts(t *testing.T) {
	c := newCluster(t).node("n1", capacity(1000, gi)).node("n2", capacity(1000, gi))
	c.run("low", "n1", 1000, 0).run("low", "n2", 1000, 0)
	for _, v := range c.in.Replicas {
		v.Spec = &orchpb.ServiceSpec{Namespace: "default", Name: "low"}
	}
	r := req("db", 1, res(1000, 0), volumes(map[int32]string{1: c.idOf("n2")}))
	r.Spec.Priority = 10
	got := Preempt(PreemptInput{Nodes: c.in.Nodes, Replicas: c.in.Replicas}, []Request{r})
	if len(got) != 1 || got[0].NodeID != c.idOf("n2") {
		t.Fatalf("preemptions %+v, want one on n2", got)
	}
}

// TestRebalanceSkipsVolumes: a service with persistent volumes never moves.
func TestRebalanceSkipsVolumes(t *testing.T) {
	c := newCluster(t).nodes(2, "n")
	c.run("db", "n1", 100, 0).run("db", "n1", 100, 0).run("db", "n1", 100, 0)
	for _, r := range c.in.Replicas {
		r.State = string(orchpb.ReplicaRunning)
	}
	spec := req("db", 0).Spec
	in := RebalanceInput{Nodes: c.in.Nodes, Replicas: c.in.Replicas, Specs: []*orchpb.ServiceSpec{spec},
		Allowance: map[ServiceID]int32{{Namespace: "default", Name: "db"}: 3}}
	if moves := Rebalance(in); len(moves) == 0 {
		t.Fatal("without volumes the crowded node should give replicas up")
	}
	spec.Volumes = []*orchpb.VolumeMount{{Name: "data", MountPath: "/data", Type: orchpb.VolumePersistent}}
	if moves := Rebalance(in); len(moves) != 0 {
		t.Fatalf("moves %+v of a service with volumes", moves)
	}
}
