package scheduler

import (
	"reflect"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// preemptCluster builds a PreemptInput: held adds a replica of svc with a
// priority and cpu on a node.
type preemptCluster struct {
	c  *testCluster
	in PreemptInput
}

func newPreemptCluster(t *testing.T) *preemptCluster {
	return &preemptCluster{c: newCluster(t), in: PreemptInput{Budgets: map[ServiceID]int32{}}}
}

func (p *preemptCluster) held(id, svc, node string, priority int32, cpu int64) *orchpb.Replica {
	r := &orchpb.Replica{Id: id, Namespace: "default", Service: svc, Node: p.c.idOf(node),
		Resources: &orchpb.ResourceAmounts{CpuMillis: cpu, MemoryBytes: 128 * mi},
		Spec:      &orchpb.ServiceSpec{Name: svc, Namespace: "default", Priority: priority}}
	p.in.Replicas = append(p.in.Replicas, r)
	return r
}

func (p *preemptCluster) preempt(reqs ...Request) []Preemption {
	p.in.Nodes = p.c.in.Nodes
	before := cloneRequests(reqs)
	out := Preempt(p.in, reqs)
	if !requestsEqual(before, reqs) {
		p.c.t.Fatal("Preempt modified its requests")
	}
	return out
}

func priority(n int32) reqOpt { return func(r *Request) { r.Spec.Priority = n } }

func victims(ps []Preemption) [][]string {
	var out [][]string
	for _, p := range ps {
		out = append(out, p.Victims)
	}
	return out
}

func TestPreemptLowestPriorityFewestFirst(t *testing.T) {
	p := newPreemptCluster(t)
	p.c.nodes(3, "n", capacity(4000, 8*gi))
	p.held("a", "a", "n1", 0, 1000)
	p.held("b", "b", "n1", 0, 1000)
	p.held("c", "c", "n1", 5, 2000) // two of priority 0 on n1 ...
	p.held("d", "d", "n2", 1, 4000) // ... or one of priority 1 on n2
	p.held("e", "e", "n3", 10, 4000)
	got := p.preempt(req("x", 1, priority(10), res(2000, 128*mi)))
	if len(got) != 1 || got[0].NodeID != "id-n2" || !reflect.DeepEqual(got[0].Victims, []string{"d"}) {
		t.Fatalf("got %+v, want x on n2 preempting d (fewest victims)", got)
	}
	// With n2 gone, two victims of priority 0 beat one of priority 5.
	p = newPreemptCluster(t)
	p.c.nodes(1, "n", capacity(4000, 8*gi))
	p.held("a", "a", "n1", 0, 1000)
	p.held("b", "b", "n1", 0, 1000)
	p.held("c", "c", "n1", 5, 2000)
	got = p.preempt(req("x", 1, priority(10), res(2000, 128*mi)))
	if len(got) != 1 || len(got[0].Victims) != 2 || got[0].Victims[0] == "c" || got[0].Victims[1] == "c" {
		t.Fatalf("got %+v, want a and b preempted, lowest priority first", got)
	}
}

func TestPreemptNeverEqualOrHigher(t *testing.T) {
	p := newPreemptCluster(t)
	p.c.nodes(1, "n", capacity(1000, 8*gi))
	p.held("a", "a", "n1", 5, 1000)
	if got := p.preempt(req("x", 1, priority(5), res(1000, 128*mi))); len(got) != 0 {
		t.Errorf("equal priority preempted: %+v", got)
	}
	if got := p.preempt(req("x", 1, res(1000, 128*mi))); len(got) != 0 {
		t.Errorf("priority 0 preempted: %+v", got)
	}
	// Its own older replicas are never victims, whatever their priority.
	p = newPreemptCluster(t)
	p.c.nodes(1, "n", capacity(1000, 8*gi))
	p.held("old", "x", "n1", 0, 1000)
	if got := p.preempt(req("x", 1, priority(9), res(1000, 128*mi))); len(got) != 0 {
		t.Errorf("a service preempted itself: %+v", got)
	}
}

func TestPreemptRespectsBudgetsWherePossible(t *testing.T) {
	p := newPreemptCluster(t)
	p.c.nodes(2, "n", capacity(1000, 8*gi))
	p.held("a", "a", "n1", 0, 1000)
	p.held("b", "b", "n2", 0, 1000)
	p.in.Budgets[ServiceID{"default", "a"}] = 0
	got := p.preempt(req("x", 2, priority(1), res(1000, 128*mi)))
	// The first goes where no budget breaks (n2, although n1 comes first
	// by name); the second has no choice left but to break a's.
	if want := [][]string{{"b"}, {"a"}}; !reflect.DeepEqual(victims(got), want) || got[0].NodeID != "id-n2" {
		t.Fatalf("got %+v, want victims %v, b first", got, want)
	}
}

func TestPreemptDevicesAndPorts(t *testing.T) {
	p := newPreemptCluster(t)
	p.c.node("g", advertise("gpu", "/dev/g0"))
	low := p.held("low", "low", "g", 0, 0)
	low.Devices = []*orchpb.DeviceGroup{{Name: "gpu", Paths: []string{"/dev/g0"}}}
	got := p.preempt(req("train", 1, priority(3), devices("gpu", 1)))
	if len(got) != 1 || !reflect.DeepEqual(got[0].Victims, []string{"low"}) || len(got[0].Devices) != 1 || got[0].Devices[0].Paths[0] != "/dev/g0" {
		t.Fatalf("got %+v, want low preempted and /dev/g0 given", got)
	}

	p = newPreemptCluster(t)
	p.c.node("n1")
	hp := p.held("web", "web", "n1", 0, 0)
	hp.HostPorts = []int32{80}
	p.held("other", "other", "n1", 0, 0)
	got = p.preempt(req("edge", 1, priority(3), hostPort(80)))
	if len(got) != 1 || !reflect.DeepEqual(got[0].Victims, []string{"web"}) {
		t.Fatalf("got %+v, want only the port holder preempted", got)
	}
}

func TestPreemptLiftsAntiAffinity(t *testing.T) {
	p := newPreemptCluster(t)
	p.c.node("n1")
	p.held("batch", "batch", "n1", 0, 0).Spec.Placement = &orchpb.Placement{AntiAffinity: []*orchpb.ServiceAffinity{{Service: "web"}}}
	p.held("db", "db", "n1", 0, 0)
	got := p.preempt(req("web", 1, priority(5)))
	if len(got) != 1 || !reflect.DeepEqual(got[0].Victims, []string{"batch"}) {
		t.Fatalf("got %+v, want batch (whose antiAffinity names web) preempted, db kept", got)
	}
	// Its own antiAffinity too: web avoids db.
	got = p.preempt(req("web", 1, priority(5), antiAffinity("db")))
	if len(got) != 1 || len(got[0].Victims) != 2 {
		t.Fatalf("got %+v, want batch and db preempted", got)
	}
}
