package integration

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
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
	ctx := context.Background()
	const samples = 20
	var durations []time.Duration
	for i := range samples {
		name := fmt.Sprintf("bench-%d", i)
		spec, err := manifest.ParseOne([]byte(fmt.Sprintf("kind: Service\nname: %s\nreplicas: 1\nimage: orch.local/hello:1\nstopGracePeriod: 1s\n", name)))
		if err != nil {
			b.Fatal(err)
		}
		_, index, err := d.api.ListReplicas(ctx, client.ReplicaFilter{})
		if err != nil {
			b.Fatal(err)
		}
		watchCtx, cancel := context.WithCancel(ctx)
		events, errc := d.api.Watch(watchCtx, index, "replica")
		start := time.Now()
		if _, err := d.api.ApplyService(ctx, spec, nil); err != nil {
			b.Fatal(err)
		}
		ran := false
		for ev := range events {
			msg, err := ev.Message()
			if err != nil {
				b.Fatal(err)
			}
			rep := msg.(*orchpb.Replica)
			if rep.GetService() == name && rep.Observed() == orchpb.ReplicaRunning {
				durations = append(durations, time.Since(start))
				ran = true
				break
			}
		}
		cancel()
		if !ran {
			b.Fatalf("the watch ended before %s ran: %v", name, <-errc)
		}
		if _, err := d.api.DeleteService(ctx, "default", name); err != nil {
			b.Fatal(err)
		}
	}
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	median := durations[len(durations)/2]
	b.ReportMetric(float64(median.Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(durations[len(durations)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(durations[0].Microseconds())/1000, "min-ms")
}
