package store

import (
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

func TestRevisionOfAServiceAtZeroIsRolledOutAtOnce(t *testing.T) {
	s := New()
	put := func(index uint64, image string, replicas int32) *orchpb.Service {
		t.Helper()
		spec := &orchpb.ServiceSpec{Kind: "Service", Namespace: "default", Name: "w", Image: image, Mode: orchpb.ModeReplicated, Replicas: proto.Int32(replicas)}
		if res := s.Apply(index, &orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{Spec: spec}}}); res.GetErrorCode() != "" {
			t.Fatal(res.GetError())
		}
		return s.Service("default", "w")
	}
	if svc := put(1, "a:1", 0); svc.GetUpdate().RolloutState() != orchpb.UpdateCompleted || svc.GetUpdate().GetFinishedIndex() != 1 {
		t.Errorf("new service at zero: update %v, want completed at index 1", svc.GetUpdate())
	}
	if svc := put(2, "a:2", 0); svc.GetUpdate().RolloutState() != orchpb.UpdateCompleted || svc.GetGeneration() != 2 {
		t.Errorf("revision at zero: update %v generation %d, want completed, generation 2", svc.GetUpdate(), svc.GetGeneration())
	}
	if svc := put(3, "a:3", 2); svc.GetUpdate().RolloutState() != orchpb.UpdateUpdating {
		t.Errorf("revision with replicas: update %v, want updating (the controller ends it)", svc.GetUpdate())
	}
}
