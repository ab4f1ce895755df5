package scheduler

import (
	"fmt"
	"math/rand"
	"reflect"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// TestScheduleProperties runs the scheduler on random clusters and requests
// with fixed seeds. The harness checks every plan against the reference
// model: no node over capacity, every placement passing every filter when
// it was made, every refusal justified, and the same plan for any input order.
func TestScheduleProperties(t *testing.T) {
	seeds := 400
	if testing.Short() {
		seeds = 50
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			c := randomCluster(t, rng)
			reqs := randomRequests(rng, c)
			p := c.schedule(reqs...)
			total := 0
			for _, r := range reqs {
				total += len(r.Replicas)
			}
			if got := len(p.Placements) + len(p.Unplaced); got != total {
				t.Fatalf("plan covers %d of %d replicas", got, total)
			}
		})
	}
}

func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.Intn(len(xs))] }

func randomCluster(t *testing.T, rng *rand.Rand) *testCluster {
	c := newCluster(t)
	for i := range rng.Intn(40) {
		var opts []nodeOpt
		if rng.Intn(4) > 0 {
			opts = append(opts, labels("zone="+pick(rng, "a", "b", "c")))
		}
		if rng.Intn(2) == 0 {
			opts = append(opts, labels("disk="+pick(rng, "ssd", "hdd")))
		}
		if rng.Intn(5) == 0 {
			opts = append(opts, state(pick(rng, orchpb.NodeDown, orchpb.NodeDraining, orchpb.NodeCordoned, "")))
		}
		opts = append(opts,
			capacity(int64(rng.Intn(33))*250, int64(rng.Intn(65))*256*mi),
			nodeID(fmt.Sprintf("id-%02d", i)))
		// Names repeat on purpose, to exercise the id tie-break.
		c.node(fmt.Sprintf("n%d", rng.Intn(30)), opts...)
	}
	// Existing replicas, only where they fit, as a consistent store has them.
	used := map[string][2]int64{}
	ports := map[string]map[int32]bool{}
	for range rng.Intn(80) {
		if len(c.in.Nodes) == 0 {
			break
		}
		n := c.in.Nodes[rng.Intn(len(c.in.Nodes))]
		cpu, mem := int64(rng.Intn(9))*250, int64(rng.Intn(9))*256*mi
		u := used[n.Id]
		if u[0]+cpu > n.Capacity.CpuMillis || u[1]+mem > n.Capacity.MemoryBytes {
			continue
		}
		used[n.Id] = [2]int64{u[0] + cpu, u[1] + mem}
		var ps []int32
		if p := pick[int32](rng, 0, 0, 80, 8080); p > 0 && !ports[n.Id][p] {
			if ports[n.Id] == nil {
				ports[n.Id] = map[int32]bool{}
			}
			ports[n.Id][p] = true
			ps = append(ps, p)
		}
		c.in.Replicas = append(c.in.Replicas, &orchpb.Replica{
			Id: fmt.Sprintf("old%d", len(c.in.Replicas)), Namespace: "default", Service: pick(rng, "s0", "s1", "s2", "s3"),
			Node: n.Id, Resources: &orchpb.ResourceAmounts{CpuMillis: cpu, MemoryBytes: mem}, HostPorts: ps,
		})
	}
	return c
}

func randomRequests(rng *rand.Rand, c *testCluster) []Request {
	var reqs []Request
	for k := range 1 + rng.Intn(4) {
		svc := pick(rng, "s0", "s1", "s2", "s3", "s4")
		var opts []reqOpt
		opts = append(opts, res(int64(rng.Intn(9))*250, int64(rng.Intn(9))*256*mi))
		for range rng.Intn(3) {
			opts = append(opts, constraint(pick(rng, "zone == a", "zone != b", "disk == ssd", "disk != hdd", "node.name != n3", "node.name == n5")))
		}
		if rng.Intn(2) == 0 {
			opts = append(opts, spreadBy(pick(rng, "zone", "disk", "node.name")))
		}
		if rng.Intn(3) == 0 {
			opts = append(opts, binpack())
		}
		if rng.Intn(3) == 0 {
			opts = append(opts, maxPerNode(int32(1+rng.Intn(3))))
		}
		if rng.Intn(3) == 0 {
			opts = append(opts, hostPort(pick[int32](rng, 80, 8080, 9000)))
		}
		r := req(svc, rng.Intn(25), opts...)
		for i, rep := range r.Replicas {
			rep.Id = fmt.Sprintf("%s.r%d.%d", svc, k, i)
			// A few replicas of another size, as in a rolling update.
			if rng.Intn(5) == 0 {
				rep.Resources = &orchpb.ResourceAmounts{CpuMillis: int64(rng.Intn(9)) * 250, MemoryBytes: int64(rng.Intn(9)) * 256 * mi}
			}
			// A few pinned, as the global controller does.
			if rng.Intn(10) == 0 && len(c.in.Nodes) > 0 {
				rep.Node = c.in.Nodes[rng.Intn(len(c.in.Nodes))].Id
			}
		}
		reqs = append(reqs, r)
	}
	return reqs
}

// TestFromAllocatedPlansTheSame: taking what nodes hold from their
// Allocated, with only the replicas that publish ports or belong to the
// requested services listed, gives the plan summing every replica gives.
func TestFromAllocatedPlansTheSame(t *testing.T) {
	for seed := int64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewSource(seed))
		c := randomCluster(t, rng)
		reqs := randomRequests(rng, c)
		want := Schedule(c.in, reqs)

		requested := map[string]bool{}
		for _, r := range reqs {
			requested[r.Spec.GetNamespace()+"/"+r.Spec.GetName()] = true
		}
		alloc := map[string][2]int64{}
		var listed []*orchpb.Replica
		for _, r := range c.in.Replicas {
			a := alloc[r.GetNode()]
			alloc[r.GetNode()] = [2]int64{a[0] + r.GetResources().GetCpuMillis(), a[1] + r.GetResources().GetMemoryBytes()}
			if len(r.GetHostPorts()) > 0 || requested[r.GetNamespace()+"/"+r.GetService()] {
				listed = append(listed, r)
			}
		}
		in := Input{FromAllocated: true, Replicas: listed}
		for _, n := range c.in.Nodes {
			n2 := proto.Clone(n).(*orchpb.Node)
			a := alloc[n.GetId()]
			n2.Allocated = &orchpb.ResourceAmounts{CpuMillis: a[0], MemoryBytes: a[1]}
			in.Nodes = append(in.Nodes, n2)
		}
		if got := Schedule(in, reqs); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: plan from Allocated differs:\n%v\nwant\n%v", seed, got, want)
		}
	}
}
