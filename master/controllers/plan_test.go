package controllers

import (
	"fmt"
	"strings"
	"testing"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
)

func (c *cluster) plan(yamls ...string) []api.Plan {
	c.t.Helper()
	var specs []*orchpb.ServiceSpec
	for _, y := range yamls {
		spec, err := manifest.ParseOne([]byte(y))
		if err != nil {
			c.t.Fatal(err)
		}
		specs = append(specs, spec)
	}
	index, services := c.st.Index(), len(c.st.Services(""))
	plans, err := Plan(c.st, specs)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.st.Index() != index || len(c.st.Services("")) != services {
		c.t.Fatal("planning changed the store")
	}
	return plans
}

func placementsText(p api.Plan) string {
	var s []string
	for _, pl := range p.Placements {
		s = append(s, pl.Replica+"@"+pl.Node)
	}
	for _, u := range p.Unplaced {
		s = append(s, u.Replica+"!"+u.Reason)
	}
	return strings.Join(s, " ")
}

func TestPlan(t *testing.T) {
	c := newCluster(t)
	c.node("a", 1000)
	c.node("b", 1000)
	const small = "kind: Service\nname: web\nreplicas: 3\nimage: web:1\nresources: {cpu: 250m}\n"

	p := c.plan(small)[0]
	if p.Action != api.PlanCreate || p.Generation != 1 || placementsText(p) != "web.1@a web.2@b web.3@a" || p.Summary != "2/2 nodes can run it" {
		t.Fatalf("create plan %+v", p)
	}

	p = c.plan("kind: Service\nname: big\nreplicas: 2\nimage: big:1\nresources: {cpu: 64}\n")[0]
	want := "0/2 nodes can run it: 2 lack cpu (need 64)"
	if len(p.Placements) != 0 || len(p.Unplaced) != 2 || p.Unplaced[0].Reason != want || p.Summary != want {
		t.Fatalf("impossible plan %+v, want both unplaced: %s", p, want)
	}

	c.service(small)
	c.reconcile()
	if p = c.plan(small)[0]; p.Action != api.PlanUnchanged || len(p.Diff) != 0 || len(p.Placements) != 0 {
		t.Fatalf("unchanged plan %+v", p)
	}
	p = c.plan(strings.Replace(small, "replicas: 3", "replicas: 5", 1))[0]
	if p.Action != api.PlanScale || fmt.Sprint(p.Diff) != "[{replicas 3 5}]" || placementsText(p) != "web.4@b web.5@a" {
		t.Fatalf("scale plan %+v", p)
	}
	p = c.plan(strings.Replace(small, "web:1", "web:2", 1))[0]
	if p.Action != api.PlanUpdate || p.Generation != 2 || fmt.Sprint(p.Diff) != "[{image web:1 web:2}]" ||
		len(p.Placements) != 3 || !strings.Contains(p.Rollout, "at most 1 extra and 0 unavailable") {
		t.Fatalf("update plan %+v", p)
	}
	// Two services in one manifest: the second sees the first's room taken.
	two := c.plan("kind: Service\nname: xs\nreplicas: 2\nimage: xs:1\nresources: {cpu: 500m}\n",
		"kind: Service\nname: ys\nreplicas: 1\nimage: ys:1\nresources: {cpu: 400m}\n")
	if placementsText(two[1]) != "ys.1!0/2 nodes can run it: 2 lack cpu (need 400m)" {
		t.Fatalf("second plan %+v, want it to see the first's placements", two[1])
	}
}

func TestPlanGlobalNamesNodesWithoutRoom(t *testing.T) {
	c := newCluster(t)
	c.node("a", 1000)
	c.node("b", 100)
	p := c.plan("kind: Service\nname: mon\nmode: global\nimage: mon:1\nresources: {cpu: 500m}\n")[0]
	if placementsText(p) != "mon.1@a mon.2!0/1 nodes can run it: 1 lacks cpu (need 500m)" {
		t.Fatalf("global plan %q", placementsText(p))
	}
}

// TestPlanExplainsAffinity: plan says why a replica cannot go anywhere
// when the cause is another service (or the service itself).
func TestPlanExplainsAffinity(t *testing.T) {
	c := newCluster(t)
	c.node("a", 4000)
	c.node("b", 4000)
	c.service("kind: Service\nname: db\nreplicas: 1\nimage: db:1\n")
	c.settle()
	p := c.plan("kind: Service\nname: web\nreplicas: 3\nimage: web:1\nplacement: {antiAffinity: [{service: web}]}\n")[0]
	want := "0/2 nodes can run it: 2 run a replica of web (antiAffinity)"
	if len(p.Placements) != 2 || len(p.Unplaced) != 1 || p.Unplaced[0].Reason != want {
		t.Errorf("one per node: %s, want 2 placed and %q", placementsText(p), want)
	}
	p = c.plan("kind: Service\nname: api\nreplicas: 2\nimage: api:1\nplacement: {affinity: [{service: db}]}\n")[0]
	if placementsText(p) != "api.1@a api.2@a" || p.Summary != "1/2 nodes can run it: 1 runs no replica of db (affinity)" {
		t.Errorf("affinity: %s, summary %q", placementsText(p), p.Summary)
	}
}
