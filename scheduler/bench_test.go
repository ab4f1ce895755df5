package scheduler

import (
	"fmt"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// benchInput is 5,000 nodes over 3 zones with 8 cpu and 32Gi each, already
// running 10,000 replicas of 100 other services.
func benchInput() Input {
	var in Input
	for i := range 5000 {
		in.Nodes = append(in.Nodes, &orchpb.Node{
			Id: fmt.Sprintf("id-%05d", i), Name: fmt.Sprintf("node-%05d", i), State: orchpb.NodeReady,
			Labels:   map[string]string{"zone": string(rune('a' + i%3)), "disk": []string{"ssd", "hdd"}[i%2]},
			Capacity: &orchpb.ResourceAmounts{CpuMillis: 8000, MemoryBytes: 32 << 30},
		})
	}
	for i := range 10000 {
		in.Replicas = append(in.Replicas, &orchpb.Replica{
			Id: fmt.Sprintf("old-%d", i), Namespace: "default", Service: fmt.Sprintf("other-%d", i%100),
			Node: fmt.Sprintf("id-%05d", (i*7)%5000), Resources: &orchpb.ResourceAmounts{CpuMillis: 500, MemoryBytes: 1 << 30},
		})
	}
	return in
}

func BenchmarkSchedule5000Nodes(b *testing.B) {
	in := benchInput()
	one := func(opts ...reqOpt) []Request {
		return []Request{req("web", 1000, append([]reqOpt{res(250, 256*mi)}, opts...)...)}
	}
	var many []Request // 1,000 services of one replica: one class each
	for i := range 1000 {
		many = append(many, req(fmt.Sprintf("svc-%d", i), 1, res(250, 256*mi), constraint("disk == ssd")))
	}
	for _, bc := range []struct {
		name string
		reqs []Request
	}{
		{"spread", one()},
		{"spreadByZone", one(spreadBy("zone"))},
		{"binpack", one(binpack())},
		{"constraintsPortMaxPerNode", one(constraint("zone != c", "disk == ssd"), hostPort(8080), maxPerNode(1))},
		{"1000services", many},
	} {
		b.Run(bc.name, func(b *testing.B) {
			replicas := 0
			for _, r := range bc.reqs {
				replicas += len(r.Replicas)
			}
			b.ReportAllocs()
			for b.Loop() {
				p := Schedule(in, bc.reqs)
				if len(p.Placements) != replicas {
					b.Fatalf("placed %d of %d", len(p.Placements), replicas)
				}
			}
			b.ReportMetric(float64(replicas*b.N)/b.Elapsed().Seconds(), "replicas/s")
		})
	}
}
