package main

import (
	"strings"
	"testing"
)

const canaryManifest = `kind: Service
name: web
replicas: 4
image: %s
resources: {cpu: 100m}
update: {canary: 1, deadline: 20s}
`

// TestCanaryPromoteAndAbort: a canary rollout stops at its canary for
// rollout status, promote finishes it, abort returns to the previous spec
// keeping the replicas that never left it.
func TestCanaryPromoteAndAbort(t *testing.T) {
	c := startLiveCluster(t, 3)
	apply := func(image string) { c.mustRun(strings.Replace(canaryManifest, "%s", image, 1), "apply", "-f", "-") }
	apply("web:1")
	c.mustRun("", "rollout", "status", "service", "web", "--timeout", "60s")
	if code, _, errOut := c.run("", "rollout", "promote", "service", "web"); code == 0 || !strings.Contains(errOut, "no canary waiting") {
		t.Fatalf("promote with no canary: exit %d, %q", code, errOut)
	}

	apply("web:2")
	out := c.mustRun("", "rollout", "status", "service", "web", "--timeout", "60s")
	if !strings.Contains(out, "canary of generation 2: 1/1 canaries healthy, paused for promotion") || !strings.Contains(out, "rollout promote service web") {
		t.Fatalf("rollout status of a canary:\n%s", out)
	}
	if reps := c.mustRun("", "get", "replicas", "-o", "json"); strings.Count(reps, `"image": "web:2"`) != 1 {
		t.Fatalf("want exactly one canary on web:2:\n%s", reps)
	}
	out = c.mustRun("", "rollout", "promote", "service", "web")
	if !strings.Contains(out, "promoted") {
		t.Fatalf("promote: %s", out)
	}
	out = c.mustRun("", "rollout", "status", "service", "web", "--timeout", "60s")
	if !strings.Contains(out, "generation 2 rolled out: 4/4") {
		t.Fatalf("rollout status after promote:\n%s", out)
	}

	before := c.mustRun("", "get", "replicas", "-o", "wide")
	apply("web:3")
	c.mustRun("", "rollout", "status", "service", "web", "--timeout", "60s")
	out = c.mustRun("", "rollout", "abort", "service", "web")
	if !strings.Contains(out, "canary aborted: rolling back as generation 4") {
		t.Fatalf("abort: %s", out)
	}
	// The rollback it starts ends as rolled back: status says the update
	// did not make it.
	if code, _, _ := c.run("", "rollout", "status", "service", "web", "--timeout", "60s"); code == 0 {
		t.Fatal("rollout status after an abort exited 0")
	}
	after := c.mustRun("", "get", "replicas", "-o", "wide")
	kept := 0
	for _, line := range strings.Split(before, "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[0], "web.") && strings.Contains(after, f[1]) {
			kept++
		}
	}
	if kept != 3 || strings.Count(after, " running ") != 4 {
		t.Fatalf("after the abort %d of the 4 replicas of web:2 kept (want 3: all but the canary's slot):\nbefore\n%s\nafter\n%s", kept, before, after)
	}
}

// TestDrainWaitsForBudget: a drain that every move would break a budget
// by waits and says which service blocks it; one within budgets finishes.
func TestDrainWaitsForBudget(t *testing.T) {
	c := startLiveCluster(t, 3)
	c.mustRun("kind: Service\nname: web\nreplicas: 3\nimage: web:1\nresources: {cpu: 100m}\nplacement: {maxPerNode: 1}\n"+
		"update: {maxSurge: 0, maxUnavailable: 1}\ndisruption: {maxUnavailable: 0}\n", "apply", "-f", "-")
	c.mustRun("", "rollout", "status", "service", "web", "--timeout", "60s")
	code, out, errOut := c.run("", "node", "drain", "node-1", "--timeout", "3s")
	if code == 0 || !strings.Contains(out, "default/web (1 left): blocked by its disruption budget (maxUnavailable 0, 3 of 3 available)") ||
		!strings.Contains(errOut, "still draining after --timeout") {
		t.Fatalf("drain against a budget of 0: exit %d\n%s%s", code, out, errOut)
	}
	if reps := c.mustRun("", "get", "replicas"); strings.Count(reps, "running") != 3 {
		t.Fatalf("the blocked drain stopped something:\n%s", reps)
	}

	c.mustRun("", "node", "uncordon", "node-1")
	c.mustRun("", "delete", "service", "web")
	c.mustRun("kind: Service\nname: api\nreplicas: 3\nimage: api:1\nresources: {cpu: 100m}\ndisruption: {maxUnavailable: 1}\n", "apply", "-f", "-")
	c.mustRun("", "rollout", "status", "service", "api", "--timeout", "60s")
	out = c.mustRun("", "node", "drain", "node-1", "--timeout", "60s")
	if !strings.Contains(out, "node/node-1 drained") {
		t.Fatalf("drain within budgets:\n%s", out)
	}
}
