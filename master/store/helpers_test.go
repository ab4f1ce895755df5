package store

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// assertRoundTrip checks that s survives snapshot → binary → restore with
// nothing lost, derived state included, and returns the restored store.
func assertRoundTrip(t *testing.T, s *Store) *Store {
	t.Helper()
	snap := s.Snapshot()
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(snap)
	if err != nil {
		t.Fatalf("marshal snapshot: %v", err)
	}
	back := &orchpb.StateSnapshot{}
	if err := proto.Unmarshal(data, back); err != nil {
		t.Fatalf("unmarshal snapshot: %v", err)
	}
	r := New()
	r.Restore(back)
	if got := r.Snapshot(); !proto.Equal(snap, got) {
		t.Fatalf("snapshot round trip differs:\n--- before\n%s\n--- after\n%s", protojson.Format(snap), protojson.Format(got))
	}
	if a, b := strings.Join(dump(s), "\n"), strings.Join(dump(r), "\n"); a != b {
		t.Fatalf("state after restore differs:\n--- before\n%s\n--- after\n%s", a, b)
	}
	checkInvariants(t, s)
	checkInvariants(t, r)
	return r
}

// checkInvariants compares the store's indexes and incremental allocation
// with a brute-force recomputation from the primary tables.
func checkInvariants(t *testing.T, s *Store) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	alloc := map[string]amounts{}
	byService := map[svcKey][]string{}
	byNode := map[string][]string{}
	for id, r := range s.replicas {
		if id != r.Id {
			t.Fatalf("replica stored under %q has id %q", id, r.Id)
		}
		byService[svcKey{r.Namespace, r.Service}] = append(byService[svcKey{r.Namespace, r.Service}], id)
		if r.Node != "" {
			byNode[r.Node] = append(byNode[r.Node], id)
		}
		if counts(r) {
			alloc[r.Node] = alloc[r.Node].add(amounts{r.GetResources().GetCpuMillis(), r.GetResources().GetMemoryBytes()})
		}
	}
	sameSets := func(what string, want map[string][]string, have map[string]map[string]struct{}) {
		if len(want) != len(have) {
			t.Fatalf("%s index has %d keys, want %d", what, len(have), len(want))
		}
		for k, ids := range want {
			got := sortedKeys(have[k])
			slices.Sort(ids)
			if !slices.Equal(got, ids) {
				t.Fatalf("%s index[%s] = %v, want %v", what, k, got, ids)
			}
		}
	}
	svcWant := map[string][]string{}
	svcHave := map[string]map[string]struct{}{}
	for k, v := range byService {
		svcWant[k.String()] = v
	}
	for k, v := range s.byService {
		svcHave[k.String()] = v
	}
	sameSets("by-service", svcWant, svcHave)
	sameSets("by-node", byNode, s.byNode)
	for id, a := range alloc {
		if a == (amounts{}) {
			delete(alloc, id)
		}
	}
	if fmt.Sprint(alloc) != fmt.Sprint(s.alloc) {
		t.Fatalf("allocation %v, recomputed %v", s.alloc, alloc)
	}
	subnets := map[string]string{}
	for id, n := range s.nodes {
		a := alloc[id]
		if n.GetAllocated().GetCpuMillis() != a.cpu || n.GetAllocated().GetMemoryBytes() != a.mem {
			t.Fatalf("node %s allocated %v, want %v", id, n.GetAllocated(), a)
		}
		if s.nodeByName[n.Name] != id {
			t.Fatalf("node %s: name index says %q", id, s.nodeByName[n.Name])
		}
		if other, dup := subnets[n.Subnet]; dup && n.Subnet != "" {
			t.Fatalf("nodes %s and %s share subnet %s", id, other, n.Subnet)
		}
		subnets[n.Subnet] = id
	}
	order := make([]nodeKey, 0, len(s.nodes))
	for id, n := range s.nodes {
		order = append(order, nodeKey{n.GetName(), id})
	}
	slices.SortFunc(order, compareNodeKeys)
	if !slices.Equal(order, s.nodeOrder) {
		t.Fatalf("node order %v, want %v", s.nodeOrder, order)
	}
	if len(s.nodeByName) != len(s.nodes) {
		t.Fatalf("name index has %d entries for %d nodes", len(s.nodeByName), len(s.nodes))
	}
	delete(subnets, "")
	if fmt.Sprint(subnets) != fmt.Sprint(s.subnets) {
		t.Fatalf("subnet map %v, want %v", s.subnets, subnets)
	}
}

// apply applies cmd at the next index and fails the test on an error result.
func mustApply(t *testing.T, s *Store, cmd *orchpb.Command) *orchpb.CommandResult {
	t.Helper()
	res := s.Apply(s.Index()+1, cmd)
	if res.ErrorCode != "" {
		t.Fatalf("apply %v: %s: %s", cmd, res.ErrorCode, res.Error)
	}
	return res
}

func putService(ns, name string, replicas int32, image string) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{
		Spec: &orchpb.ServiceSpec{Kind: "Service", Namespace: ns, Name: name, Replicas: proto.Int32(replicas), Image: image},
	}}}
}

func registerNode(id, name string, cpu, mem int64) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: &orchpb.Node{
		Id: id, Name: name, Address: "127.0.0.1", Capacity: &orchpb.ResourceAmounts{CpuMillis: cpu, MemoryBytes: mem},
	}}}}
}

func replica(id, ns, svc string, slot int32, node string, cpu, mem int64) *orchpb.Replica {
	return &orchpb.Replica{
		Id: id, Namespace: ns, Service: svc, Slot: slot, Node: node,
		DesiredState: string(orchpb.DesiredRunning), State: string(orchpb.ReplicaAssigned),
		Resources: &orchpb.ResourceAmounts{CpuMillis: cpu, MemoryBytes: mem},
	}
}

func putReplicas(rs ...*orchpb.Replica) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: rs}}}
}

func reportStatus(node string, sts ...*orchpb.ReplicaStatus) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_ReportReplicaStatus{ReportReplicaStatus: &orchpb.ReportReplicaStatus{NodeId: node, Statuses: sts}}}
}
