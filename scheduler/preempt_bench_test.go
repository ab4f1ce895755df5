package scheduler

import (
	"fmt"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// BenchmarkPreempt: 1,000 full nodes of 8 priority-0 replicas each (in
// 100 services, some with a disruption budget), and 100 replicas of
// priority 10 that each need the room of two. Reports preemptions/s.
func BenchmarkPreempt(b *testing.B) {
	in := PreemptInput{Budgets: map[ServiceID]int32{}}
	for i := range 1000 {
		n := &orchpb.Node{Id: fmt.Sprintf("id-%04d", i), Name: fmt.Sprintf("node-%04d", i), State: string(orchpb.NodeReady),
			Capacity: &orchpb.ResourceAmounts{CpuMillis: 4000, MemoryBytes: 16 << 30}}
		in.Nodes = append(in.Nodes, n)
		for k := range 8 {
			svc := fmt.Sprintf("low-%d", (i*8+k)%100)
			in.Replicas = append(in.Replicas, &orchpb.Replica{Id: fmt.Sprintf("r-%d-%d", i, k), Namespace: "default", Service: svc,
				Node: n.Id, Resources: &orchpb.ResourceAmounts{CpuMillis: 500, MemoryBytes: 1 << 30},
				Spec: &orchpb.ServiceSpec{Namespace: "default", Name: svc}})
		}
	}
	for s := range 50 {
		in.Budgets[ServiceID{"default", fmt.Sprintf("low-%d", s)}] = 1
	}
	r := req("high", 100, res(1000, 1<<30), priority(10))
	var out []Preemption
	b.ReportAllocs()
	for b.Loop() {
		out = Preempt(in, []Request{r})
	}
	if len(out) != 100 {
		b.Fatalf("%d preemptions, want 100", len(out))
	}
	b.ReportMetric(float64(len(out)*b.N)/b.Elapsed().Seconds(), "preemptions/s")
}
