package scheduler

import (
	"reflect"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// scheduleCase is one case of TestSchedule: a cluster, the requests, and
// where the replicas must land.
type scheduleCase struct {
	name    string
	cluster func(c *testCluster)
	reqs    []Request
	// want is replicas placed per node name or, with by set, per value
	// of that label.
	want    map[string]int
	by      string
	reasons []string // of Unplaced, in order
}

func TestSchedule(t *testing.T) {
	for _, cases := range [][]scheduleCase{
		fitCases, constraintCases, spreadCases, spreadByCases,
		binpackCases, perNodeLimitCases, reasonCases, replicaCases,
	} {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) { tc.check(t) })
		}
	}
}

// check schedules the case's requests on its cluster and compares the
// placements and the reasons for what stayed unplaced.
func (tc scheduleCase) check(t *testing.T) {
	c := newCluster(t)
	tc.cluster(c)
	r := c.schedule(tc.reqs...)
	got := r.perNode()
	if tc.by != "" {
		got = r.perLabel(tc.by)
	}
	if !reflect.DeepEqual(got, tc.want) {
		t.Errorf("placed %v, want %v (order %v)", got, tc.want, r.order())
	}
	if !reflect.DeepEqual(r.reasons(), tc.reasons) {
		t.Errorf("reasons:\n got %q\nwant %q", r.reasons(), tc.reasons)
	}
}

// fitCases place replicas where their requested resources fit.
var fitCases = []scheduleCase{
	{
		name:    "fit picks the node with room",
		cluster: func(c *testCluster) { c.node("small", capacity(1000, 1*gi)).node("big") },
		reqs:    []Request{req("web", 1, res(2000, 1*gi))},
		want:    map[string]int{"big": 1},
	},
	{
		name: "fit counts existing replicas of every service",
		cluster: func(c *testCluster) {
			c.node("a", capacity(4000, 4*gi)).node("b", capacity(4000, 4*gi)).run("db", "a", 0, 3*gi)
		},
		reqs: []Request{req("web", 2, res(500, 2*gi))},
		want: map[string]int{"b": 2},
	},
	{
		name:    "fit fills capacity exactly, then refuses",
		cluster: func(c *testCluster) { c.node("a", capacity(4000, 2*gi)).node("b", capacity(4000, 1*gi)) },
		reqs:    []Request{req("web", 4, res(0, 1*gi))},
		want:    map[string]int{"a": 2, "b": 1},
		reasons: []string{"0/2 nodes can run it: 2 lack memory (need 1Gi)"},
	},
	{
		name:    "fit holds earlier requests of the same plan",
		cluster: func(c *testCluster) { c.node("a", capacity(2000, 4*gi)) },
		reqs:    []Request{req("web", 1, res(1500, gi)), req("api", 1, res(1000, gi))},
		want:    map[string]int{"a": 1},
		reasons: []string{"0/1 nodes can run it: 1 lacks cpu (need 1)"},
	},
	{
		name:    "zero requests fit anywhere ready",
		cluster: func(c *testCluster) { c.node("a", capacity(0, 0)) },
		reqs:    []Request{req("web", 2, res(0, 0))},
		want:    map[string]int{"a": 2},
	},
}

// constraintCases pass only the nodes that satisfy every constraint.
var constraintCases = []scheduleCase{
	{
		name: "constraint on a label",
		cluster: func(c *testCluster) {
			c.node("a1", labels("zone=a")).node("b1", labels("zone=b")).node("a2", labels("zone=a")).node("none")
		},
		reqs: []Request{req("web", 4, constraint("zone == a"))},
		want: map[string]int{"a1": 2, "a2": 2},
	},
	{
		name: "!= passes nodes without the label",
		cluster: func(c *testCluster) {
			c.node("a1", labels("zone=a")).node("b1", labels("zone=b")).node("none")
		},
		reqs: []Request{req("web", 2, constraint("zone != a"))},
		want: map[string]int{"b1": 1, "none": 1},
	},
	{
		name:    "constraints on node.name and node.id",
		cluster: func(c *testCluster) { c.nodes(3, "n") },
		reqs: []Request{
			req("web", 2, constraint("node.name == n2")),
			req("api", 2, constraint("node.id != id-n1", "node.name != n2")),
		},
		want: map[string]int{"n2": 2, "n3": 2},
	},
	{
		name: "several constraints all apply",
		cluster: func(c *testCluster) {
			c.node("x", labels("zone=a", "disk=hdd")).node("y", labels("zone=a", "disk=ssd"))
		},
		reqs: []Request{req("web", 2, constraint("zone == a", "disk != hdd"))},
		want: map[string]int{"y": 2},
	},
}

// spreadCases spread a service evenly over the nodes.
var spreadCases = []scheduleCase{
	{
		name:    "spread evenly across nodes",
		cluster: func(c *testCluster) { c.nodes(3, "n") },
		reqs:    []Request{req("web", 7)},
		want:    map[string]int{"n1": 3, "n2": 2, "n3": 2},
	},
	{
		name:    "spread counts existing replicas of the service",
		cluster: func(c *testCluster) { c.nodes(3, "n").run("web", "n1", 100, 128*mi).run("web", "n1", 100, 128*mi) },
		reqs:    []Request{req("web", 4)},
		want:    map[string]int{"n2": 2, "n3": 2},
	},
	{
		name:    "spread prefers free resources when counts tie",
		cluster: func(c *testCluster) { c.nodes(3, "n").run("db", "n1", 2000, 4*gi).run("db", "n2", 1000, 1*gi) },
		reqs:    []Request{req("web", 1)},
		want:    map[string]int{"n3": 1},
	},
	{
		name:    "spread prefers fewer replicas of the service to free resources",
		cluster: func(c *testCluster) { c.nodes(2, "n").run("db", "n1", 2000, 4*gi).run("web", "n2", 100, 128*mi) },
		reqs:    []Request{req("web", 1)},
		want:    map[string]int{"n1": 1},
	},
	{
		name:    "spread sees resources placed earlier in the plan",
		cluster: func(c *testCluster) { c.nodes(2, "n") },
		reqs:    []Request{req("db", 1, res(2000, 4*gi)), req("web", 1)},
		want:    map[string]int{"n1": 1, "n2": 1},
	},
}

// spreadByCases balance a service over the values of a label first.
var spreadByCases = []scheduleCase{
	{
		name: "spreadBy zone balances 3/3/3 over uneven zones",
		cluster: func(c *testCluster) {
			c.nodes(1, "a", labels("zone=a")).nodes(2, "b", labels("zone=b")).nodes(4, "c", labels("zone=c"))
		},
		reqs: []Request{req("web", 9, spreadBy("zone"))},
		by:   "zone",
		want: map[string]int{"a": 3, "b": 3, "c": 3},
	},
	{
		name: "spreadBy zone spreads across nodes inside a zone",
		cluster: func(c *testCluster) {
			c.nodes(1, "a", labels("zone=a")).nodes(2, "b", labels("zone=b")).nodes(4, "c", labels("zone=c"))
		},
		reqs: []Request{req("web", 9, spreadBy("zone"))},
		want: map[string]int{"a1": 3, "b1": 2, "b2": 1, "c1": 1, "c2": 1, "c3": 1},
	},
	{
		name: "spreadBy zone gives the rest to zones that fit",
		cluster: func(c *testCluster) {
			c.node("a1", labels("zone=a"), capacity(4000, 1*gi)).node("b1", labels("zone=b")).node("c1", labels("zone=c"))
		},
		reqs: []Request{req("web", 9, res(100, 1*gi), spreadBy("zone"))},
		by:   "zone",
		want: map[string]int{"a": 1, "b": 4, "c": 4},
	},
	{
		name: "spreadBy zone counts existing replicas",
		cluster: func(c *testCluster) {
			c.node("a1", labels("zone=a")).node("b1", labels("zone=b")).node("c1", labels("zone=c")).
				run("web", "a1", 100, 128*mi).run("web", "a1", 100, 128*mi).run("web", "a1", 100, 128*mi)
		},
		reqs: []Request{req("web", 3, spreadBy("zone"))},
		by:   "zone",
		want: map[string]int{"b": 2, "c": 1},
	},
	{
		name:    "spreadBy groups nodes without the label together",
		cluster: func(c *testCluster) { c.node("a1", labels("zone=a")).node("x1").node("x2") },
		reqs:    []Request{req("web", 4, spreadBy("zone"))},
		want:    map[string]int{"a1": 2, "x1": 1, "x2": 1},
	},
}

// binpackCases fill the fullest node first.
var binpackCases = []scheduleCase{
	{
		name:    "binpack fills the fullest node first",
		cluster: func(c *testCluster) { c.nodes(3, "n", capacity(4000, 4*gi)).run("db", "n2", 1000, 2*gi) },
		reqs:    []Request{req("web", 3, res(1000, 1*gi), binpack())},
		want:    map[string]int{"n2": 2, "n1": 1},
	},
	{
		name:    "binpack sees resources placed earlier in the plan",
		cluster: func(c *testCluster) { c.nodes(2, "n") },
		reqs:    []Request{req("db", 1, constraint("node.name == n2")), req("web", 1, binpack())},
		want:    map[string]int{"n2": 2},
	},
	{
		name:    "binpack ignores the service's own counts",
		cluster: func(c *testCluster) { c.nodes(2, "n", capacity(4000, 4*gi)) },
		reqs:    []Request{req("web", 4, res(1000, 1*gi), binpack())},
		want:    map[string]int{"n1": 4},
	},
	{
		name: "binpack inside spreadBy",
		cluster: func(c *testCluster) {
			c.nodes(2, "a", labels("zone=a"), capacity(4000, 4*gi)).nodes(2, "b", labels("zone=b"), capacity(4000, 4*gi))
		},
		reqs: []Request{req("web", 4, res(1000, 1*gi), binpack(), spreadBy("zone"))},
		want: map[string]int{"a1": 2, "b1": 2},
	},
}

// perNodeLimitCases cap a node by maxPerNode and by host ports in use.
var perNodeLimitCases = []scheduleCase{
	{
		name:    "maxPerNode caps replicas per node",
		cluster: func(c *testCluster) { c.nodes(3, "n") },
		reqs:    []Request{req("web", 5, maxPerNode(1))},
		want:    map[string]int{"n1": 1, "n2": 1, "n3": 1},
		reasons: []string{"0/3 nodes can run it: 3 at maxPerNode 1", "0/3 nodes can run it: 3 at maxPerNode 1"},
	},
	{
		name:    "maxPerNode counts existing replicas",
		cluster: func(c *testCluster) { c.nodes(2, "n").run("web", "n1", 100, 128*mi).run("web", "n1", 100, 128*mi) },
		reqs:    []Request{req("web", 3, maxPerNode(2))},
		want:    map[string]int{"n2": 2},
		reasons: []string{"0/2 nodes can run it: 2 at maxPerNode 2"},
	},
	{
		name:    "hostPort conflicts with replicas on the node",
		cluster: func(c *testCluster) { c.nodes(3, "n").run("other", "n1", 100, 128*mi, 8080) },
		reqs:    []Request{req("web", 3, hostPort(8080))},
		want:    map[string]int{"n2": 1, "n3": 1},
		reasons: []string{"0/3 nodes can run it: 3 have port 8080 in use"},
	},
	{
		name:    "hostPorts that differ do not conflict",
		cluster: func(c *testCluster) { c.nodes(1, "n").run("other", "n1", 100, 128*mi, 8080) },
		reqs:    []Request{req("web", 1, hostPort(9090)), req("api", 1, hostPort(9091))},
		want:    map[string]int{"n1": 2},
	},
}

// reasonCases take only ready nodes and explain why a replica found none.
var reasonCases = []scheduleCase{
	{
		name: "only ready nodes take replicas",
		cluster: func(c *testCluster) {
			c.node("c", state(orchpb.NodeCordoned)).node("d", state(orchpb.NodeDown)).
				node("r", state(orchpb.NodeDraining)).node("z").node("u", state(""))
		},
		reqs: []Request{req("web", 3)},
		want: map[string]int{"z": 3},
	},
	{
		name: "states are named in the reason",
		cluster: func(c *testCluster) {
			c.node("c", state(orchpb.NodeCordoned)).node("d1", state(orchpb.NodeDown)).node("d2", state(orchpb.NodeDown)).
				node("r", state(orchpb.NodeDraining)).node("u", state("joining"))
		},
		reqs:    []Request{req("web", 1)},
		want:    map[string]int{},
		reasons: []string{"0/5 nodes can run it: 2 down, 1 draining, 1 cordoned, 1 not ready"},
	},
	{
		name: "the reason when nothing fits",
		cluster: func(c *testCluster) {
			c.nodes(3, "a", labels("zone=a"), capacity(4000, 1*gi)).
				nodes(2, "b", labels("zone=b")).
				node("a9", labels("zone=a"), state(orchpb.NodeCordoned))
		},
		reqs:    []Request{req("web", 1, res(500, 2*gi), constraint("zone == a"))},
		want:    map[string]int{},
		reasons: []string{"0/6 nodes can run it: 3 lack memory (need 2Gi), 2 fail zone == a, 1 cordoned"},
	},
	{
		name: "reasons with equal counts follow the filter order",
		cluster: func(c *testCluster) {
			c.node("n1", state(orchpb.NodeDown)).
				node("n2", state(orchpb.NodeDraining)).
				node("n3", state(orchpb.NodeCordoned)).
				node("n4", labels("zone=b")).
				node("n5", capacity(100, 8*gi)).
				node("n6", capacity(4000, 1*gi)).
				node("n7").run("other", "n7", 0, 0, 8080).
				node("n8").run("web", "n8", 0, 0)
		},
		reqs:    []Request{req("web", 1, res(500, 1536*mi), constraint("zone != b"), hostPort(8080), maxPerNode(1))},
		want:    map[string]int{},
		reasons: []string{"0/8 nodes can run it: 1 down, 1 draining, 1 cordoned, 1 fails zone != b, 1 lacks cpu (need 500m), 1 lacks memory (need 1536Mi), 1 has port 8080 in use, 1 at maxPerNode 1"},
	},
	{
		name:    "a node is counted under the first filter it fails",
		cluster: func(c *testCluster) { c.node("n1", state(orchpb.NodeDown), capacity(0, 0)).node("n2", capacity(0, 0)) },
		reqs:    []Request{req("web", 1, res(2000, 4*ki))},
		want:    map[string]int{},
		reasons: []string{"0/2 nodes can run it: 1 down, 1 lacks cpu (need 2)"},
	},
	{
		name:    "no nodes at all",
		cluster: func(c *testCluster) {},
		reqs:    []Request{req("web", 2)},
		want:    map[string]int{},
		reasons: []string{"0/0 nodes can run it: no nodes", "0/0 nodes can run it: no nodes"},
	},
	{
		name:    "an invalid constraint places nothing",
		cluster: func(c *testCluster) { c.nodes(2, "n") },
		reqs:    []Request{req("web", 1, constraint("zone = a"))},
		want:    map[string]int{},
		reasons: []string{`0/2 nodes can run it: 2 fail invalid constraint "zone = a"`},
	},
}

// replicaCases: ties between nodes, and replicas that differ from their
// request: other sizes, an existing id, a pinned node.
var replicaCases = []scheduleCase{
	{
		name:    "ties go to the node name first",
		cluster: func(c *testCluster) { c.node("b").node("c").node("a") },
		reqs:    []Request{req("web", 1)},
		want:    map[string]int{"a": 1},
	},
	{
		name:    "replicas of two sizes in one request",
		cluster: func(c *testCluster) { c.node("n1", capacity(4000, 3*gi)).node("n2", capacity(4000, 3*gi)) },
		reqs: []Request{func() Request {
			r := req("web", 4, res(100, 1*gi))
			r.Replicas[2].Resources = &orchpb.ResourceAmounts{CpuMillis: 100, MemoryBytes: 2 * gi}
			r.Replicas[3].Resources = &orchpb.ResourceAmounts{CpuMillis: 100, MemoryBytes: 2 * gi}
			return r
		}()},
		want: map[string]int{"n1": 2, "n2": 2},
	},
	{
		name:    "a replica being placed does not hold its old node",
		cluster: func(c *testCluster) { c.node("n1", capacity(4000, 1*gi)).run("web", "n1", 100, 1*gi) },
		reqs: []Request{func() Request {
			r := req("web", 1, res(100, 1*gi))
			r.Replicas[0].Id = "web.existing0"
			return r
		}()},
		want: map[string]int{"n1": 1},
	},
	{
		name:    "pinned replicas go to their node or nowhere",
		cluster: func(c *testCluster) { c.nodes(2, "n").node("small", capacity(4000, 1*gi)) },
		reqs: []Request{
			req("g1", 1, pin("id-n2")),
			req("g2", 1, res(100, 2*gi), pin("id-small")),
			req("g3", 1, pin("id-gone")),
		},
		want: map[string]int{"n2": 1},
		reasons: []string{
			"0/1 nodes can run it: 1 lacks memory (need 2Gi)",
			`0/0 nodes can run it: pinned node "id-gone" not found`,
		},
	},
}

func TestScheduleTieBreakByID(t *testing.T) {
	c := newCluster(t).node("x", nodeID("id-2")).node("x", nodeID("id-1"))
	r := c.schedule(req("web", 1))
	if got := r.Placements[0].NodeID; got != "id-1" {
		t.Errorf("placed on %s, want id-1 (same name, lower id)", got)
	}
}

func TestScheduleSpreadOrder(t *testing.T) {
	// With equal nodes, spread round-robins in name order, and keeps doing
	// so as counts rise: each replica goes to the least loaded node.
	c := newCluster(t).nodes(3, "n")
	got := c.schedule(req("web", 6)).order()
	want := []string{"n1", "n2", "n3", "n1", "n2", "n3"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestScheduleDeterministic(t *testing.T) {
	c := newCluster(t).nodes(20, "n", labels("zone=a")).nodes(20, "m", labels("zone=b"))
	reqs := []Request{req("web", 30, spreadBy("zone")), req("api", 25, binpack()), req("db", 10, maxPerNode(1))}
	first := c.schedule(reqs...).Plan
	for range 5 {
		if again := c.schedule(reqs...).Plan; !reflect.DeepEqual(first, again) {
			t.Fatalf("plans differ:\n%+v\n%+v", first, again)
		}
	}
}

func TestEligibleNodes(t *testing.T) {
	c := newCluster(t).
		node("b2", labels("zone=b")).
		node("a1", labels("zone=a")).
		node("b1", labels("zone=b"), capacity(0, 0)).
		node("b3", labels("zone=b"), state(orchpb.NodeDraining)).
		node("b4", labels("zone=b"), state(orchpb.NodeCordoned))
	spec := req("agent", 0, constraint("zone == b")).Spec
	var got []string
	for _, n := range EligibleNodes(c.in, spec) {
		got = append(got, n.Name)
	}
	// b1 has no capacity left, but resources are Schedule's business.
	if want := []string{"b1", "b2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("eligible %v, want %v", got, want)
	}
}

func TestExplain(t *testing.T) {
	c := newCluster(t).nodes(4, "n").node("full", capacity(4000, 1*gi)).node("off", state(orchpb.NodeCordoned))
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"some nodes fit", req("web", 1, res(100, 2*gi)), "4/6 nodes can run it: 1 cordoned, 1 lacks memory (need 2Gi)"},
		{"all ready nodes fit", req("web", 1), "5/6 nodes can run it: 1 cordoned"},
		{"spec alone", req("web", 0, constraint("node.name != n1")), "4/6 nodes can run it: 1 cordoned, 1 fails node.name != n1"},
		{"pinned and fits", req("web", 1, pin("id-n1")), "1/1 nodes can run it"},
		{"pinned and does not", req("web", 1, pin("id-off")), "0/1 nodes can run it: 1 cordoned"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Explain(c.in, tc.req); got != tc.want {
				t.Errorf("Explain = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFormatQuantities(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{FormatCPU(500), "500m"},
		{FormatCPU(2000), "2"},
		{FormatCPU(1500), "1500m"},
		{FormatMemory(2 * gi), "2Gi"},
		{FormatMemory(1536 * mi), "1536Mi"},
		{FormatMemory(32 * mi), "32Mi"},
		{FormatMemory(4 * ki), "4Ki"},
		{FormatMemory(1 << 40), "1Ti"},
		{FormatMemory(1000), "1000"},
		{FormatMemory(0), "0"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
