package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/hollow"
	"github.com/orch-io/orch/master"
	orchpb "github.com/orch-io/orch/proto"
)

// liveCluster is a real master with hollow nodes, for the verbs whose
// behaviour only a running cluster shows (rollout status, plan, describe).
type liveCluster struct {
	t      *testing.T
	config string
	dir    string
	url    string // the master's API, for more hollow nodes
}

// healthy plays health checks: replicas of an image tagged :bad report
// unhealthy; others run after half a second.
func healthy(rep *orchpb.Replica, spec *orchpb.ServiceSpec, age time.Duration) (orchpb.ReplicaState, string) {
	switch {
	case strings.HasSuffix(spec.GetImage(), ":bad"):
		return orchpb.ReplicaUnhealthy, "health check failed: GET /healthz: 500"
	case age < 500*time.Millisecond:
		return orchpb.ReplicaStarting, ""
	}
	return orchpb.ReplicaRunning, ""
}

func startLiveCluster(t *testing.T, nodes int) *liveCluster {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	t.Setenv(client.EnvConfig, "")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := master.Start(ctx, master.Config{DataDir: dir, APIAddr: "127.0.0.1:0", RaftAddr: "127.0.0.1:0",
		Bootstrap: true, NodeTimeout: 3 * time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	token, err := os.ReadFile(filepath.Join(dir, master.AgentTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	f, err := hollow.Start(ctx, hollow.Config{Masters: []string{m.URL()}, Token: strings.TrimSpace(string(token)),
		Count: nodes, Prefix: "node", Behavior: healthy, Logger: quiet,
		Capacity: &orchpb.ResourceAmounts{CpuMillis: 2000, MemoryBytes: 4 << 30}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	return &liveCluster{t: t, config: filepath.Join(dir, master.AdminConfigFile), dir: dir, url: m.URL()}
}

func (c *liveCluster) run(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"--config", c.config}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func (c *liveCluster) mustRun(stdin string, args ...string) string {
	c.t.Helper()
	code, out, errOut := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("orchctl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

const webManifest = `kind: Service
name: web
replicas: 4
image: %s
ports: [{port: 8080}]
resources: {cpu: 100m}
health: {http: {path: /healthz}}
update: {maxSurge: 1, deadline: 3s, onFailure: rollback}
`

func manifestFor(image string) string { return strings.Replace(webManifest, "%s", image, 1) }

// Acceptance 5 from the command line: rollout status follows a good
// update to exit 0, and a failing one to its rollback and a non-zero exit.
func TestRolloutStatusExitCodes(t *testing.T) {
	c := startLiveCluster(t, 3)
	c.mustRun(manifestFor("web:1"), "apply", "-f", "-")
	out := c.mustRun("", "rollout", "status", "service", "web", "--timeout", "60s")
	if !strings.Contains(out, "generation 1 rolled out: 4/4 replicas running") {
		t.Fatalf("rollout status of the creation:\n%s", out)
	}
	c.mustRun(manifestFor("web:2"), "apply", "-f", "-")
	out = c.mustRun("", "rollout", "status", "service", "web", "--timeout", "60s")
	if !strings.Contains(out, "rolling out generation 2") || !strings.Contains(out, "generation 2 rolled out: 4/4") {
		t.Fatalf("rollout status of a good update shows no progress:\n%s", out)
	}

	c.mustRun(manifestFor("web:bad"), "apply", "-f", "-")
	code, out, errOut := c.run("", "rollout", "status", "service", "web", "--timeout", "60s")
	if code == 0 {
		t.Fatalf("rollout status of a failing update exited 0:\n%s", out)
	}
	if !strings.Contains(errOut, "rolled_back") || !strings.Contains(errOut, "not running within 3s") {
		t.Errorf("stderr does not say it was rolled back and why: %q", errOut)
	}
	out = c.mustRun("", "get", "replicas", "-o", "json")
	if strings.Contains(out, "web:bad") {
		// Stopped replicas of the bad generation may linger until their
		// agents confirm; none may still be meant to run.
		reps := c.mustRun("", "get", "replicas")
		if strings.Count(reps, "running") != 4 {
			t.Errorf("after the rollback:\n%s", reps)
		}
	}
	desc := c.mustRun("", "describe", "service", "web")
	for _, want := range []string{"Image:", "web:2", "Rollout:", "rolled_back", "RollingBack", "RolledBack", "Replicas:", "Events:"} {
		if !strings.Contains(desc, want) {
			t.Errorf("describe service lacks %q:\n%s", want, desc)
		}
	}

	// On demand: back to web:1's spec... no, to the previous spec, web:bad's
	// successor history: the previous spec of generation 4 is web:bad.
	out = c.mustRun("", "rollback", "service", "web")
	if !strings.Contains(out, "rolling back to its previous spec as generation 5 (image web:bad)") {
		t.Fatalf("rollback: %s", out)
	}
	if code, _, _ := c.run("", "rollout", "status", "service", "web", "--timeout", "60s"); code == 0 {
		t.Fatal("a rollback to a spec that never gets healthy was reported a success")
	}
}

// Acceptance 6: plan on an impossible manifest prints the reason, exits
// non-zero and changes nothing.
func TestPlanImpossibleChangesNothing(t *testing.T) {
	c := startLiveCluster(t, 2)
	before := c.mustRun("", "get", "services", "-o", "json")
	code, out, errOut := c.run("kind: Service\nname: big\nreplicas: 2\nimage: big:1\nresources: {cpu: 16, memory: 1Gi}\n", "plan", "-f", "-")
	if code == 0 {
		t.Fatalf("plan of an impossible manifest exited 0:\n%s", out)
	}
	want := "0/2 nodes can run it: 2 lack cpu (need 16)"
	if !strings.Contains(out, "service/big (namespace default): create") || strings.Count(out, want) != 3 {
		t.Errorf("plan output lacks the reason %q for both replicas and the summary:\n%s", want, out)
	}
	if !strings.Contains(errOut, "2 replicas could not be placed") {
		t.Errorf("stderr %q", errOut)
	}
	if after := c.mustRun("", "get", "services", "-o", "json"); after != before {
		t.Errorf("plan changed the services:\n%s\nthen\n%s", before, after)
	}
	out = c.mustRun("kind: Service\nname: ok\nreplicas: 3\nimage: ok:1\nresources: {cpu: 500m}\n", "plan", "-f", "-")
	for _, want := range []string{"ok.1", "ok.3", "node-1", "node-2", "2/2 nodes can run it"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan of a possible manifest lacks %q:\n%s", want, out)
		}
	}
}

func TestNodeVerbsAndEvents(t *testing.T) {
	c := startLiveCluster(t, 2)
	out := c.mustRun("", "node", "cordon", "node-1")
	if !strings.Contains(out, "node/node-1 cordoned (state cordoned)") {
		t.Fatalf("cordon: %s", out)
	}
	c.mustRun("kind: Service\nname: api\nreplicas: 2\nimage: api:1\n", "apply", "-f", "-")
	deadline := time.Now().Add(20 * time.Second)
	var desc string
	for time.Now().Before(deadline) {
		desc = c.mustRun("", "describe", "node", "node-2")
		if strings.Count(desc, "running") >= 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(desc, "default/api.1") || !strings.Contains(desc, "default/api.2") {
		t.Fatalf("both replicas should be on node-2 while node-1 is cordoned:\n%s", desc)
	}
	c.mustRun("", "node", "uncordon", "node-1")
	out = c.mustRun("", "events", "--node", "node-1")
	if !strings.Contains(out, "Cordoned") || !strings.Contains(out, "Uncordoned") {
		t.Errorf("events of node-1:\n%s", out)
	}
	if code, _, errOut := c.run("", "node", "drain", "no-such-node"); code == 0 || !strings.Contains(errOut, "not found") {
		t.Errorf("drain of an unknown node: exit %d, %q", code, errOut)
	}
	out = c.mustRun("", "describe", "replica", "api.1")
	for _, want := range []string{"Service:", "api", "Node:", "node-2", "Scheduled", "Started"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe replica lacks %q:\n%s", want, out)
		}
	}
}
