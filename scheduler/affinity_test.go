package scheduler

import (
	"testing"
)

// affinityCases place replicas by where other services' replicas run.
var affinityCases = []scheduleCase{
	{
		name:    "affinity goes only where the named service runs",
		cluster: func(c *testCluster) { c.nodes(4, "n").run("db", "n2", 0, 0).run("db", "n4", 0, 0) },
		reqs:    []Request{req("api", 4, affinity("db"))},
		want:    map[string]int{"n2": 2, "n4": 2},
	},
	{
		name:    "affinity with nothing to follow explains itself",
		cluster: func(c *testCluster) { c.nodes(3, "n") },
		reqs:    []Request{req("api", 1, affinity("db"))},
		want:    map[string]int{},
		reasons: []string{"0/3 nodes can run it: 3 run no replica of db (affinity)"},
	},
	{
		name:    "affinity follows a service placed earlier in the same plan",
		cluster: func(c *testCluster) { c.nodes(3, "n") },
		reqs:    []Request{req("db", 1), req("api", 2, affinity("db"))},
		want:    map[string]int{"n1": 3},
	},
	{
		name:    "antiAffinity avoids the named service",
		cluster: func(c *testCluster) { c.nodes(3, "n").run("web", "n1", 0, 0).run("web", "n2", 0, 0) },
		reqs:    []Request{req("batch", 3, antiAffinity("web"))},
		want:    map[string]int{"n3": 3},
	},
	{
		name:    "antiAffinity with itself is one per node",
		cluster: func(c *testCluster) { c.nodes(3, "n").run("web", "n2", 0, 0) },
		reqs:    []Request{req("web", 3, antiAffinity("web"))},
		want:    map[string]int{"n1": 1, "n3": 1},
		reasons: []string{"0/3 nodes can run it: 3 run a replica of web (antiAffinity)"},
	},
	{
		name:    "pinned replicas check antiAffinity on their node",
		cluster: func(c *testCluster) { c.nodes(2, "n").run("web", "n1", 0, 0) },
		reqs:    []Request{req("agent", 1, pin("id-n1"), antiAffinity("web"))},
		want:    map[string]int{},
		reasons: []string{"0/1 nodes can run it: 1 runs a replica of web (antiAffinity)"},
	},
	{
		name: "antiAffinity binds both ways: web avoids nodes whose batch avoids web",
		cluster: func(c *testCluster) {
			c.nodes(3, "n").run("batch", "n1", 0, 0)
			c.in.Replicas[0].Spec = req("batch", 0, antiAffinity("web")).Spec
		},
		reqs: []Request{req("web", 2, maxPerNode(1))},
		want: map[string]int{"n2": 1, "n3": 1},
	},
	{
		name:    "antiAffinity binds both ways inside one plan",
		cluster: func(c *testCluster) { c.nodes(2, "n") },
		reqs:    []Request{req("batch", 1, antiAffinity("web")), req("web", 2)},
		want:    map[string]int{"n1": 1, "n2": 2},
	},
	{
		name: "a node kept away by another's antiAffinity explains itself",
		cluster: func(c *testCluster) {
			c.nodes(1, "n").run("batch", "n1", 0, 0)
			c.in.Replicas[0].Spec = req("batch", 0, antiAffinity("web")).Spec
		},
		reqs:    []Request{req("web", 1)},
		want:    map[string]int{},
		reasons: []string{"0/1 nodes can run it: 1 runs a replica whose antiAffinity names web"},
	},
	{
		name: "affinity and antiAffinity together",
		cluster: func(c *testCluster) {
			c.nodes(3, "n").run("db", "n1", 0, 0).run("db", "n2", 0, 0).run("cache", "n2", 0, 0)
		},
		reqs: []Request{req("api", 2, affinity("db"), antiAffinity("cache"))},
		want: map[string]int{"n1": 2},
	},
}

// deviceCases fit whole devices.
var deviceCases = []scheduleCase{
	{
		name: "devices go where they are free",
		cluster: func(c *testCluster) {
			c.node("cpu").node("gpu1", advertise("gpu", "/dev/g0", "/dev/g1")).node("gpu2", advertise("gpu", "/dev/g0"))
		},
		reqs: []Request{req("train", 3, devices("gpu", 1))},
		want: map[string]int{"gpu1": 2, "gpu2": 1},
	},
	{
		name: "a device held by a running replica is not free",
		cluster: func(c *testCluster) {
			c.node("n1", advertise("gpu", "/dev/g0", "/dev/g1")).runDevices("old", "n1", "gpu", "/dev/g0")
		},
		reqs:    []Request{req("train", 2, devices("gpu", 1))},
		want:    map[string]int{"n1": 1},
		reasons: []string{"0/1 nodes can run it: 1 lacks device gpu (need 1)"},
	},
	{
		name: "a request for two devices needs two on one node",
		cluster: func(c *testCluster) {
			c.node("a", advertise("gpu", "/dev/g0")).node("b", advertise("gpu", "/dev/g0")).node("c")
		},
		reqs:    []Request{req("train", 1, devices("gpu", 2))},
		want:    map[string]int{},
		reasons: []string{"0/3 nodes can run it: 3 lack device gpu (need 2)"},
	},
}

func TestScheduleAffinityAndDevices(t *testing.T) {
	for _, cases := range [][]scheduleCase{affinityCases, deviceCases} {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) { tc.check(t) })
		}
	}
}

func TestScheduleDevicesAreExact(t *testing.T) {
	c := newCluster(t).node("n1", advertise("gpu", "/dev/g0", "/dev/g1", "/dev/g2"), advertise("fpga", "/dev/f0"))
	r := c.schedule(req("train", 1, devices("gpu", 2), devices("fpga", 1)))
	if len(r.Placements) != 1 {
		t.Fatalf("placements %+v, unplaced %v", r.Placements, r.reasons())
	}
	got := r.Devices[r.Placements[0].ReplicaID]
	if len(got) != 2 || got[0].Name != "fpga" || len(got[0].Paths) != 1 || got[1].Name != "gpu" ||
		len(got[1].Paths) != 2 || got[1].Paths[0] != "/dev/g0" || got[1].Paths[1] != "/dev/g1" {
		t.Errorf("devices %v, want fpga [/dev/f0] and gpu [/dev/g0 /dev/g1]", got)
	}
}

func TestExplainAffinity(t *testing.T) {
	c := newCluster(t).nodes(3, "n").run("web", "n1", 0, 0)
	got := Explain(c.in, req("web", 1, antiAffinity("web")))
	if want := "2/3 nodes can run it: 1 runs a replica of web (antiAffinity)"; got != want {
		t.Errorf("Explain = %q, want %q", got, want)
	}
}
