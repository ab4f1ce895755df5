package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkAgentFootprint runs an agent as its own process (`orchd agent`,
// beside an `orchd master`) and reports its resident memory with 0, 20 and
// 50 replicas of the sample image, and the start latency of those 50
// replicas from the assignment reaching the agent to their task running
// (median and p99, from the agent's "container started" log lines).
// Compare the latency with agent/runtime's BenchmarkCreateStart, a bare
// containerd create and start on the same machine.
func BenchmarkAgentFootprint(b *testing.B) {
	for range b.N {
		benchAgentFootprint(b)
	}
}

func benchAgentFootprint(b *testing.B) {
	s := startSplitCluster(b)
	s.loadHello()
	ctx := context.Background()
	// The agent's RSS once it has settled: the Go runtime returns freed
	// memory lazily, so read it a few seconds after the work.
	// VmRSS counts the orchd binary's pages too (file-backed, shared with
	// any other orchd); RssAnon is the agent's own memory.
	settled := func() (rss, anon float64) {
		time.Sleep(5 * time.Second)
		pid := s.agent.cmd.Process.Pid
		return procStatusMB(b, pid, "VmRSS"), procStatusMB(b, pid, "RssAnon")
	}
	rss0, anon0 := settled()
	s.apply(footprintYAML(20))
	s.running("footprint", 20)
	rss20, anon20 := settled()
	if _, err := s.api.ScaleService(ctx, "default", "footprint", 50); err != nil {
		b.Fatal(err)
	}
	s.running("footprint", 50)
	rss50, anon50 := settled()

	lat := startLatencies(s.agent.output())
	if len(lat) < 50 {
		b.Fatalf("%d start latencies in the agent's log, want 50", len(lat))
	}
	slices.Sort(lat)
	b.ReportMetric(rss0, "rss0-MB")
	b.ReportMetric(rss20, "rss20-MB")
	b.ReportMetric(rss50, "rss50-MB")
	b.ReportMetric(anon0, "anon0-MB")
	b.ReportMetric(anon20, "anon20-MB")
	b.ReportMetric(anon50, "anon50-MB")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "start-p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "start-p99-ms")
}

func footprintYAML(n int) string {
	return fmt.Sprintf(`
kind: Service
name: footprint
replicas: %d
image: orch.local/hello:1
args: ["--port=8080"]
resources: {cpu: 10m, memory: 16Mi}
stopGracePeriod: 1s
`, n)
}

// procStatusMB reads a kB field of /proc/PID/status, in MB (10^6 bytes).
func procStatusMB(b *testing.B, pid int, key string) float64 {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb * 1024 / 1e6
		}
	}
	b.Fatalf("no %s for pid %d", key, pid)
	return 0
}

var sinceAssignedRE = regexp.MustCompile(`msg="container started".* since_assigned=(\S+)`)

func startLatencies(log string) []time.Duration {
	var out []time.Duration
	for _, line := range strings.Split(log, "\n") {
		if m := sinceAssignedRE.FindStringSubmatch(line); m != nil {
			if d, err := time.ParseDuration(m[1]); err == nil {
				out = append(out, d)
			}
		}
	}
	return out
}
