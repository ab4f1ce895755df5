package store

import (
	"fmt"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// TestReplicasShareTheirServicesSpec: replicas whose decoded spec equals
// their service's hold the service's spec itself, through a command and
// through a snapshot; one whose spec differs keeps its own.
func TestReplicasShareTheirServicesSpec(t *testing.T) {
	s := New()
	mustApply(t, s, putService("default", "web", 3, "web:1"))
	svc := s.Service("default", "web")
	replica := func(id string, spec *orchpb.ServiceSpec) *orchpb.Replica {
		// A copy, as each replica of a decoded command has its own.
		return &orchpb.Replica{Id: id, Namespace: "default", Service: "web", Slot: 1, Generation: svc.GetGeneration(),
			Spec: proto.Clone(spec).(*orchpb.ServiceSpec), DesiredState: string(orchpb.DesiredRunning)}
	}
	other := proto.Clone(svc.GetSpec()).(*orchpb.ServiceSpec)
	other.Image = "web:2"
	mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: []*orchpb.Replica{
		replica("r1", svc.GetSpec()), replica("r2", svc.GetSpec()), replica("r3", other)}}}})
	check := func(s *Store, when string) {
		t.Helper()
		spec := s.Service("default", "web").GetSpec()
		for _, id := range []string{"r1", "r2"} {
			if got := s.Replica(id).GetSpec(); got != spec {
				t.Errorf("%s: %s holds its own copy of its service's spec", when, id)
			}
		}
		if got := s.Replica("r3").GetSpec(); got == spec || got.GetImage() != "web:2" {
			t.Errorf("%s: r3's own spec was replaced (image %q)", when, got.GetImage())
		}
	}
	check(s, "after a command")

	data, err := proto.Marshal(s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	restored, snap := New(), &orchpb.StateSnapshot{}
	if err := proto.Unmarshal(data, snap); err != nil {
		t.Fatal(err)
	}
	restored.Restore(snap)
	check(restored, "after a snapshot")
}

// BenchmarkPutReplicasSharingSpecs is what applying one service's
// placement costs a master: 150 replicas, each with its own decoded copy
// of the spec, compared with the service's.
func BenchmarkPutReplicasSharingSpecs(b *testing.B) {
	s := New()
	s.Apply(1, putService("default", "web", 150, "registry.local/web:1.4.2"))
	spec := s.Service("default", "web").GetSpec()
	for i := range b.N {
		b.StopTimer()
		reps := make([]*orchpb.Replica, 150)
		for j := range reps {
			reps[j] = &orchpb.Replica{Id: fmt.Sprintf("r%d-%d", i, j), Namespace: "default", Service: "web", Slot: int32(j + 1),
				Spec: proto.Clone(spec).(*orchpb.ServiceSpec), DesiredState: string(orchpb.DesiredRunning)}
		}
		cmd := &orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: reps}}}
		b.StartTimer()
		if res := s.Apply(uint64(i+2), cmd); res.GetErrorCode() != "" {
			b.Fatal(res.GetError())
		}
	}
}
