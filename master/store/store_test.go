package store

import (
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// roundTripCase fills one table, then checks what a restored copy rebuilds
// from it beyond the snapshot itself (indexes, allocation, subnets).
type roundTripCase struct {
	name  string
	build func(t *testing.T, s *Store)
	check func(t *testing.T, r *Store)
}

var roundTripCases = []roundTripCase{
	{name: "empty", build: func(*testing.T, *Store) {}},
	{
		name: "services",
		build: func(t *testing.T, s *Store) {
			mustApply(t, s, putService("default", "a", 1, "a:1"))
			mustApply(t, s, putService("default", "a", 1, "a:2"))
			mustApply(t, s, putService("prod", "b", 3, "b:1"))
		},
		check: func(t *testing.T, r *Store) {
			a := r.Service("default", "a")
			if a.GetGeneration() != 2 || a.GetPreviousSpec().GetImage() != "a:1" || a.GetCreateIndex() != 1 || a.GetVersion() != 2 {
				t.Errorf("restored service a = %v", a)
			}
			if got := len(r.Services("prod")); got != 1 {
				t.Errorf("Services(prod) = %d, want 1", got)
			}
		},
	},
	{
		name: "nodes",
		build: func(t *testing.T, s *Store) {
			mustApply(t, s, registerNode("n1", "one", 1000, 1000))
			mustApply(t, s, registerNode("n2", "two", 0, 0))
			mustApply(t, s, registerNode("n3", "three", 0, 0))
			mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_RemoveNode{RemoveNode: &orchpb.RemoveNode{NodeId: "n2"}}})
		},
		check: func(t *testing.T, r *Store) {
			// The subnet map is rebuilt: the freed subnet is found again.
			res := mustApply(t, r, registerNode("n4", "four", 0, 0))
			if res.Node.Subnet != "10.244.1.0/24" {
				t.Errorf("after restore a new node got %s, want the freed 10.244.1.0/24", res.Node.Subnet)
			}
			if r.NodeByName("three").GetId() != "n3" {
				t.Errorf("name index not rebuilt")
			}
		},
	},
	{
		name: "replicas",
		build: func(t *testing.T, s *Store) {
			mustApply(t, s, registerNode("n1", "one", 1000, 1000))
			mustApply(t, s, putService("default", "web", 3, "web:1"))
			mustApply(t, s, putReplicas(
				replica("r1", "default", "web", 1, "n1", 300, 100),
				replica("r2", "default", "web", 2, "n1", 300, 100),
				replica("r3", "default", "web", 3, "", 300, 100),
			))
			mustApply(t, s, reportStatus("n1", &orchpb.ReplicaStatus{Id: "r1", State: string(orchpb.ReplicaRunning), Ip: "10.244.0.2"}))
		},
		check: func(t *testing.T, r *Store) {
			if a := r.Node("n1").GetAllocated(); a.GetCpuMillis() != 600 || a.GetMemoryBytes() != 200 {
				t.Errorf("allocation after restore = %v, want 600/200", a)
			}
			if got := r.ReplicaByName("default", "web.2").GetId(); got != "r2" {
				t.Errorf("ReplicaByName(web.2) = %q", got)
			}
			if got := len(r.Replicas(ReplicaFilter{Node: "n1"})); got != 2 {
				t.Errorf("replicas on n1 = %d, want 2", got)
			}
			// Allocation keeps working incrementally after a restore.
			res := mustApply(t, r, putReplicas(replica("r4", "default", "web", 4, "n1", 500, 1)))
			if res.Rejected["r4"] == "" {
				t.Errorf("r4 (500m on a node with 400m free) was accepted")
			}
		},
	},
	{
		name: "images",
		build: func(t *testing.T, s *Store) {
			for _, name := range []string{"b:1", "a:1"} {
				mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_PutImage{PutImage: &orchpb.PutImage{Image: &orchpb.Image{Name: name, Digest: "sha256:" + name, Size: 42}}}})
			}
		},
		check: func(t *testing.T, r *Store) {
			if imgs := r.Images(); len(imgs) != 2 || imgs[0].Name != "a:1" || r.Image("b:1").GetSize() != 42 {
				t.Errorf("images after restore = %v", imgs)
			}
		},
	},
	{
		name: "config",
		build: func(t *testing.T, s *Store) {
			mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_SetClusterConfig{SetClusterConfig: &orchpb.SetClusterConfig{
				Config: &orchpb.ClusterConfig{ClusterCidr: "10.50.0.0/16", ClusterId: "abc"}}}})
		},
		check: func(t *testing.T, r *Store) {
			if r.Config().GetClusterId() != "abc" {
				t.Errorf("config after restore = %v", r.Config())
			}
			if res := mustApply(t, r, registerNode("n1", "one", 0, 0)); res.Node.Subnet != "10.50.0.0/24" {
				t.Errorf("subnet from restored CIDR = %s", res.Node.Subnet)
			}
		},
	},
}

// TestRoundTripPerTable fills one table at a time and checks that a
// snapshot restores it exactly, derived state included.
func TestRoundTripPerTable(t *testing.T) {
	for _, tt := range roundTripCases {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			tt.build(t, s)
			r := assertRoundTrip(t, s)
			if r.Index() != s.Index() {
				t.Fatalf("restored index %d, want %d", r.Index(), s.Index())
			}
			if tt.check != nil {
				tt.check(t, r)
				checkInvariants(t, r)
			}
		})
	}
}

func TestRestoreRecomputesAllocation(t *testing.T) {
	snap := &orchpb.StateSnapshot{
		Index: 7,
		Nodes: []*orchpb.Node{{Id: "n1", Name: "one", Subnet: "10.244.0.0/24", Allocated: &orchpb.ResourceAmounts{CpuMillis: 999}}},
		Replicas: []*orchpb.Replica{
			replica("r1", "default", "web", 1, "n1", 100, 10),
			{Id: "r2", Namespace: "default", Service: "web", Slot: 2, Node: "n1", DesiredState: string(orchpb.DesiredStopped), Resources: &orchpb.ResourceAmounts{CpuMillis: 50}},
		},
	}
	s := New()
	s.Restore(snap)
	if a := s.Node("n1").GetAllocated(); a.GetCpuMillis() != 100 || a.GetMemoryBytes() != 10 {
		t.Fatalf("allocated = %v, want 100/10 (recomputed, not trusted)", a)
	}
	if snap.Nodes[0].Allocated.CpuMillis != 999 {
		t.Fatalf("Restore modified the snapshot's node in place")
	}
	checkInvariants(t, s)
}

func TestReplicaByName(t *testing.T) {
	s := New()
	mustApply(t, s, registerNode("n1", "one", 0, 0))
	mustApply(t, s, putService("default", "web", 2, "web:1"))
	stopped := replica("old", "default", "web", 2, "n1", 0, 0)
	stopped.DesiredState = string(orchpb.DesiredStopped)
	mustApply(t, s, putReplicas(replica("a", "default", "web", 1, "n1", 0, 0), replica("b", "default", "web", 2, "n1", 0, 0)))
	mustApply(t, s, putReplicas(stopped))                                       // newer but stopped
	mustApply(t, s, putReplicas(replica("c", "default", "web", 1, "n1", 0, 0))) // newer and running
	tests := []struct{ ns, name, want string }{
		{"default", "web.2", "b"},
		{"default", "web.1", "c"},
		{"default", "web.3", ""},
		{"prod", "web.1", ""},
		{"default", "web", ""},
		{"default", ".1", ""},
	}
	for _, tt := range tests {
		if got := s.ReplicaByName(tt.ns, tt.name).GetId(); got != tt.want {
			t.Errorf("ReplicaByName(%q, %q) = %q, want %q", tt.ns, tt.name, got, tt.want)
		}
	}
}

func TestReplicasFilter(t *testing.T) {
	s := New()
	mustApply(t, s, registerNode("n1", "one", 0, 0))
	mustApply(t, s, registerNode("n2", "two", 0, 0))
	for _, ns := range []string{"default", "prod"} {
		mustApply(t, s, putService(ns, "web", 2, "web:1"))
		mustApply(t, s, putService(ns, "db", 1, "db:1"))
	}
	mustApply(t, s, putReplicas(
		replica("p-web-2", "prod", "web", 2, "n2", 0, 0),
		replica("d-web-2", "default", "web", 2, "n1", 0, 0),
		replica("d-web-1", "default", "web", 1, "n2", 0, 0),
		replica("d-db-1", "default", "db", 1, "", 0, 0),
		replica("p-web-1", "prod", "web", 1, "n1", 0, 0),
	))
	mustApply(t, s, putReplicas(replica("d-web-1b", "default", "web", 1, "n1", 0, 0)))
	ids := func(rs []*orchpb.Replica) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Id)
		}
		return out
	}
	tests := []struct {
		f    ReplicaFilter
		want []string
	}{
		{ReplicaFilter{}, []string{"d-db-1", "d-web-1", "d-web-1b", "d-web-2", "p-web-1", "p-web-2"}},
		{ReplicaFilter{Namespace: "default", Service: "web"}, []string{"d-web-1", "d-web-1b", "d-web-2"}},
		{ReplicaFilter{Namespace: "prod"}, []string{"p-web-1", "p-web-2"}},
		{ReplicaFilter{Service: "web"}, []string{"d-web-1", "d-web-1b", "d-web-2", "p-web-1", "p-web-2"}},
		{ReplicaFilter{Node: "n1"}, []string{"d-web-1b", "d-web-2", "p-web-1"}},
		{ReplicaFilter{Node: "n1", Namespace: "default", Service: "web"}, []string{"d-web-1b", "d-web-2"}},
		{ReplicaFilter{Node: "n9"}, nil},
		{ReplicaFilter{Namespace: "x", Service: "web"}, nil},
	}
	for _, tt := range tests {
		if got := ids(s.Replicas(tt.f)); !equalStrings(got, tt.want) {
			t.Errorf("Replicas(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestReadsAreImmutable: an object a reader holds never changes under it,
// whatever is applied after it was read. (The command itself belongs to the
// store once applied; see Apply.)
func TestReadsAreImmutable(t *testing.T) {
	s := New()
	mustApply(t, s, registerNode("n1", "one", 1000, 1000))
	mustApply(t, s, putService("default", "web", 1, "web:1"))
	mustApply(t, s, putReplicas(replica("r1", "default", "web", 1, "n1", 100, 100)))

	svc, node, rep := s.Service("default", "web"), s.Node("n1"), s.Replica("r1")
	svcCopy, nodeCopy, repCopy := proto.Clone(svc), proto.Clone(node), proto.Clone(rep)

	mustApply(t, s, putService("default", "web", 1, "web:2"))
	mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_ScaleService{ScaleService: &orchpb.ScaleService{Namespace: "default", Name: "web", Replicas: 4}}})
	mustApply(t, s, putReplicas(replica("r2", "default", "web", 2, "n1", 100, 100)))
	mustApply(t, s, reportStatus("n1", &orchpb.ReplicaStatus{Id: "r1", State: string(orchpb.ReplicaRunning)}))
	mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_SetNodeState{SetNodeState: &orchpb.SetNodeState{NodeId: "n1", State: string(orchpb.NodeDraining)}}})
	mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_DeleteService{DeleteService: &orchpb.DeleteService{Namespace: "default", Name: "web"}}})

	for _, c := range []struct{ held, was proto.Message }{{svc, svcCopy}, {node, nodeCopy}, {rep, repCopy}} {
		if !proto.Equal(c.held, c.was) {
			t.Errorf("a held object changed:\nnow %v\nwas %v", c.held, c.was)
		}
	}
	if got := s.Replica("r1"); got.Observed() != orchpb.ReplicaRunning || got.Desired() != orchpb.DesiredStopped {
		t.Errorf("r1 now %v", got)
	}
	if a := s.Node("n1").GetAllocated(); a.GetCpuMillis() != 0 {
		t.Errorf("allocated after delete cascade = %v, want 0", a)
	}
}

func TestApplyRefusesOldIndex(t *testing.T) {
	s := New()
	s.Apply(5, putService("default", "a", 1, "a:1"))
	res := s.Apply(5, putService("default", "b", 1, "b:1"))
	if res.ErrorCode != orchpb.ResultInvalid || s.Service("default", "b") != nil || s.Index() != 5 {
		t.Fatalf("re-applying index 5: %v, index %d", res, s.Index())
	}
	if res := s.Apply(6, nil); res.ErrorCode != orchpb.ResultInvalid || s.Index() != 6 {
		t.Fatalf("nil command: %v, index %d (a refused command still consumes its index)", res, s.Index())
	}
}
