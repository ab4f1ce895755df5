package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/hollow"
	"github.com/orch-io/orch/master"
	orchpb "github.com/orch-io/orch/proto"
)

// TestRebalanceCommand: after a node joins late, rebalance --dry-run shows
// the moves and changes nothing; rebalance makes them within the budget
// (maxUnavailable 2: both moves at once), replacement first, until the
// replicas are spread.
func TestRebalanceCommand(t *testing.T) {
	c := startLiveCluster(t, 1)
	c.mustRun(`kind: Service
name: web
replicas: 4
image: web:1
resources: {cpu: 100m}
disruption: {maxUnavailable: 2}
`, "apply", "-f", "-")
	c.awaitReplicas(func(out string) bool { return strings.Count(out, "running") == 4 })

	token, err := os.ReadFile(filepath.Join(c.dir, master.AgentTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	late, err := hollow.Start(ctx, hollow.Config{Masters: []string{c.url}, Token: strings.TrimSpace(string(token)),
		Count: 1, Prefix: "late", Behavior: healthy, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Capacity: &orchpb.ResourceAmounts{CpuMillis: 2000, MemoryBytes: 4 << 30}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(late.Stop)
	c.awaitNodes(2)

	before := c.mustRun("", "get", "replicas")
	out := c.mustRun("", "rebalance", "--dry-run")
	t.Logf("orchctl rebalance --dry-run:\n%s", out)
	if len(regexp.MustCompile(`node-1\s+late-1\s+planned`).FindAllString(out, -1)) != 2 || !strings.Contains(out, "dry run: 2 moves planned, nothing changed") {
		t.Fatalf("dry run:\n%s", out)
	}
	if after := c.mustRun("", "get", "replicas"); replicaIDs(after) != replicaIDs(before) {
		t.Fatalf("the dry run changed replicas:\n%s\nthen\n%s", before, after)
	}
	out = c.mustRun("", "rebalance")
	if strings.Count(out, "moving") != 2 {
		t.Fatalf("rebalance:\n%s", out)
	}
	c.awaitReplicas(func(out string) bool {
		return strings.Count(out, "running") == 4 && strings.Count(out, "late-1") == 2
	})
	if out := c.mustRun("", "rebalance", "--dry-run"); !strings.Contains(out, "nothing to move") {
		t.Errorf("after the moves:\n%s", out)
	}
}

// awaitReplicas polls get replicas until ok accepts its output.
func (c *liveCluster) awaitReplicas(ok func(string) bool) {
	c.t.Helper()
	var out string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if out = c.mustRun("", "get", "replicas"); ok(out) {
			return
		}
	}
	c.t.Fatalf("replicas never got there:\n%s", out)
}

func (c *liveCluster) awaitNodes(n int) {
	c.t.Helper()
	var out string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if out = c.mustRun("", "get", "nodes"); strings.Count(out, " ready") == n {
			return
		}
	}
	c.t.Fatalf("%d nodes never ready:\n%s", n, out)
}

// replicaIDs is the ID column of get replicas, for comparing listings.
func replicaIDs(out string) string {
	var ids []string
	for _, line := range strings.Split(out, "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 {
			ids = append(ids, f[1])
		}
	}
	return strings.Join(ids, " ")
}
