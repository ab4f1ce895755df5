package controlplane

import (
	"context"
	"testing"
	"time"
)

// BenchmarkCARotateAgent times `orchctl ca rotate` (trust, sign, retire)
// on 3 masters and a real agent while a service on it answers and the
// admin reads the API with a credential trusting only the old CA;
// failed_requests must stay 0 (BenchmarkCARotate does the same with
// hollow nodes). Each iteration is one rotation (A to B, B to C, ...).
func BenchmarkCARotateAgent(b *testing.B) {
	r := newAgentRig(b)
	stop := r.load(b)
	var took time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		start := time.Now()
		out, err := r.rotate(ctx)
		took += time.Since(start)
		cancel()
		if err != nil {
			b.Fatalf("orchctl ca rotate: %v\n%s", err, out)
		}
	}
	b.StopTimer()
	total, failed, errs := stop()
	if failed > 0 {
		b.Logf("failed requests: %v", errs[:min(len(errs), 10)])
	}
	b.ReportMetric(float64(took.Milliseconds())/float64(b.N), "rotate_ms")
	b.ReportMetric(float64(failed), "failed_requests")
	b.ReportMetric(float64(total), "requests")
}
