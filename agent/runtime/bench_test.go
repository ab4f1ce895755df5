package runtime

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkCreateStart measures Create+Start of the small test container,
// the part of a replica's start that containerd, the shim and runc cost.
// create-ms/op and start-ms/op split it.
func BenchmarkCreateStart(b *testing.B) {
	e := newTestEnv(b)
	ctx := testContext(b)
	var ids []string
	var create, start time.Duration
	n := 0
	for ; b.Loop(); n++ {
		cfg := e.config(fmt.Sprintf("bench%d", n), "/testbin", "sleep")
		t0 := time.Now()
		if err := e.rt.Create(ctx, cfg); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := e.rt.Start(ctx, cfg.ID); err != nil {
			b.Fatal(err)
		}
		create += t1.Sub(t0)
		start += time.Since(t1)
		ids = append(ids, cfg.ID)
		// Keep at most a few running, outside the measurement.
		if len(ids) >= 4 {
			b.StopTimer()
			for _, id := range ids {
				if err := e.rt.Delete(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			ids = ids[:0]
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(create.Milliseconds())/float64(n), "create-ms/op")
	b.ReportMetric(float64(start.Milliseconds())/float64(n), "start-ms/op")
}
