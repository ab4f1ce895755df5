package scheduler

import (
	"fmt"
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// benchInput is 5,000 nodes over 3 zones with 8 cpu and 32Gi each, already
// running 10,000 replicas of 100 other services.
func benchInput() Input {
	var in Input
	for i := range 5000 {
		in.Nodes = append(in.Nodes, &orchpb.Node{
			Id: fmt.Sprintf("id-%05d", i), Name: fmt.Sprintf("node-%05d", i), State: string(orchpb.NodeReady),
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

// BenchmarkIssueScale is the measurement of issue 4: 5,000 nodes in 5
// zones, 150,000 replicas of 1,000 services placed in one plan on one
// goroutine, with resource fit, spreadBy zone, and a constraint on a third
// of the services. Besides placements/s it reports the spread it reached:
// the worst zone imbalance of any service (max - min replicas over the 5
// zones) and the fewest and most replicas on any node.
func BenchmarkIssueScale(b *testing.B) {
	var in Input
	for i := range 5000 {
		in.Nodes = append(in.Nodes, &orchpb.Node{
			Id: fmt.Sprintf("id-%05d", i), Name: fmt.Sprintf("node-%05d", i), State: string(orchpb.NodeReady),
			Labels:   map[string]string{"zone": fmt.Sprint("z", i%5), "disk": []string{"ssd", "hdd"}[(i/5)%2]},
			Capacity: &orchpb.ResourceAmounts{CpuMillis: 16000, MemoryBytes: 64 << 30},
		})
	}
	reqs := make([]Request, 0, 1000)
	total := 0
	for s := range 1000 {
		opts := []reqOpt{res(int64(100+100*(s%5)), int64(128+128*(s%4))*mi), spreadBy("zone")}
		if s%3 == 0 {
			opts = append(opts, constraint("disk == ssd"))
		}
		reqs = append(reqs, req(fmt.Sprintf("svc-%d", s), 150, opts...))
		total += 150
	}
	var p Plan
	b.ReportAllocs()
	for b.Loop() {
		p = Schedule(in, reqs)
	}
	if len(p.Placements) != total {
		b.Fatalf("placed %d of %d: %v", len(p.Placements), total, p.Unplaced[:min(3, len(p.Unplaced))])
	}
	b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "placements/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/plan")
	zoneOf := map[string]string{}
	for _, n := range in.Nodes {
		zoneOf[n.Id] = n.Labels["zone"]
	}
	perNode := map[string]int{}
	perSvcZone := map[string]map[string]int{}
	for _, pl := range p.Placements {
		perNode[pl.NodeID]++
		svc := pl.ReplicaID[:strings.LastIndexByte(pl.ReplicaID, '.')]
		if perSvcZone[svc] == nil {
			perSvcZone[svc] = map[string]int{}
		}
		perSvcZone[svc][zoneOf[pl.NodeID]]++
	}
	worstZoneSkew := 0
	for _, zones := range perSvcZone {
		lo, hi := total, 0
		for z := range 5 {
			n := zones[fmt.Sprint("z", z)]
			lo, hi = min(lo, n), max(hi, n)
		}
		worstZoneSkew = max(worstZoneSkew, hi-lo)
	}
	lo, hi := total, 0
	for _, n := range in.Nodes {
		lo, hi = min(lo, perNode[n.Id]), max(hi, perNode[n.Id])
	}
	b.ReportMetric(float64(worstZoneSkew), "zone-skew-max")
	b.ReportMetric(float64(lo), "per-node-min")
	b.ReportMetric(float64(hi), "per-node-max")
}
