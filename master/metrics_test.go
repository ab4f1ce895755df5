package master

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/master/manifest"
)

// documentedMetrics reads the metric names of docs/metrics.md's tables, and
// those documented as absent until something happens.
func documentedMetrics(t *testing.T) (names []string, sometimes map[string]bool) {
	data, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	sometimes = map[string]bool{}
	row := regexp.MustCompile("^\\| `(orch_[a-z_]+)` \\|")
	for _, line := range strings.Split(string(data), "\n") {
		if m := row.FindStringSubmatch(line); m != nil && !agentMetric(m[1]) {
			names = append(names, m[1])
			if strings.Contains(line, "(absent until") {
				sometimes[m[1]] = true
			}
		}
	}
	if len(names) < 10 {
		t.Fatalf("docs/metrics.md lists %d metrics: the table format changed?", len(names))
	}
	return names, sometimes
}

// TestDocumentedMetricsAreExported scrapes a working master's registry:
// every metric docs/metrics.md lists is there, and every orch_ metric there
// is listed.
func TestDocumentedMetricsAreExported(t *testing.T) {
	m, admin := startTestMaster(t, Config{})
	spec, err := manifest.ParseOne([]byte("kind: Service\nname: web\nimage: orch.local/hello:1\nreplicas: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ApplyService(context.Background(), spec, nil); err != nil {
		t.Fatal(err)
	}
	documented, sometimes := documentedMetrics(t)
	var exported []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The controller's pass and writes come shortly after the apply.
		exported = exportedMetrics(t, m)
		missing := 0
		for _, name := range documented {
			if !sometimes[name] && !slices.Contains(exported, name) {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, name := range documented {
		if !sometimes[name] && !slices.Contains(exported, name) {
			t.Errorf("docs/metrics.md lists %s, which the master does not export", name)
		}
	}
	for _, name := range exported {
		if strings.HasPrefix(name, "orch_") && !slices.Contains(documented, name) {
			t.Errorf("the master exports %s, which docs/metrics.md does not list", name)
		}
	}
}

// agentMetric says whether name is the agent's (agent/metrics_test.go
// checks those).
func agentMetric(name string) bool {
	return strings.HasPrefix(name, "orch_agent_") || strings.HasPrefix(name, "orch_dns_")
}

func exportedMetrics(t *testing.T, m *Master) []string {
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	return names
}
