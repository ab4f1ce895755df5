package agent

import (
	"errors"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/netoverlay/dns"
)

// TestDocumentedAgentMetricsAreExported: every agent and DNS metric
// docs/metrics.md lists is in the agent's registry, and every orch_ metric
// there is listed.
func TestDocumentedAgentMetricsAreExported(t *testing.T) {
	data, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `((orch_agent|orch_dns)_[a-z_]+)` \\|")
	var documented []string
	for _, line := range strings.Split(string(data), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			documented = append(documented, m[1])
		}
	}
	if len(documented) < 6 {
		t.Fatalf("docs/metrics.md lists %d agent metrics: the table format changed?", len(documented))
	}
	a := &Agent{
		replicas: newReplicaSet(nil, slog.New(slog.DiscardHandler)),
		dns:      &nodeDNS{server: dns.NewServer(dns.Config{Logger: slog.New(slog.DiscardHandler)})},
	}
	// Labelled series exist once something happened.
	countRestart("main")
	healthTransitions.WithLabelValues("healthy").Inc()
	observeCall("start", time.Now(), errors.New("test"))
	families, err := a.newRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var exported []string
	for _, f := range families {
		exported = append(exported, f.GetName())
	}
	for _, name := range documented {
		if !slices.Contains(exported, name) {
			t.Errorf("docs/metrics.md lists %s, which the agent does not export", name)
		}
	}
	for _, name := range exported {
		if strings.HasPrefix(name, "orch_") && !slices.Contains(documented, name) {
			t.Errorf("the agent exports %s, which docs/metrics.md does not list", name)
		}
	}
}
