package integration

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// BenchmarkApplyToRunning measures, 20 times, the time from the API call of
// `orchctl apply` of a one-replica service to the agent reporting its
// container running, and reports the median. Compare it with
// agent/runtime's BenchmarkCreateStart (a bare containerd create + start):
// the difference is what orch adds.
func BenchmarkApplyToRunning(b *testing.B) {
	for range b.N {
		benchApplyToRunning(b)
	}
}

func benchApplyToRunning(b *testing.B) {
	d := startDevCluster(b)
	d.loadHello()
	const samples = 20
	var durations []time.Duration
	for i := range samples {
		durations = append(durations, d.applyToRunning(b, fmt.Sprintf("bench-%d", i),
			"kind: Service\nname: %s\nreplicas: 1\nimage: orch.local/hello:1\nstopGracePeriod: 1s\n"))
	}
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	median := durations[len(durations)/2]
	b.ReportMetric(float64(median.Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(durations[len(durations)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(durations[0].Microseconds())/1000, "min-ms")
}
