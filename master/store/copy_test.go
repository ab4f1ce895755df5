package store

import (
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

func TestShallowCopyKeepsEveryFieldAndLeavesTheOriginal(t *testing.T) {
	orig := &orchpb.Replica{
		Id: "r1", Namespace: "default", Service: "web", Slot: 2, Node: "n1",
		State: orchpb.ReplicaRunning, HostPorts: []int32{8080},
		Spec: &orchpb.ServiceSpec{Name: "web", Image: "web:1", Env: map[string]string{"A": "1"}},
	}
	orig.ProtoReflect().SetUnknown([]byte{0xf8, 0x7f, 0x01}) // field 1023, varint 1
	was := proto.Clone(orig)

	cp := shallowCopy(orig)
	if !proto.Equal(cp, orig) {
		t.Fatalf("copy differs:\ncopy %v\norig %v", cp, orig)
	}
	if string(cp.ProtoReflect().GetUnknown()) != string(orig.ProtoReflect().GetUnknown()) {
		t.Errorf("unknown fields not copied")
	}
	cp.State, cp.Message, cp.Spec = orchpb.ReplicaFailed, "boom", &orchpb.ServiceSpec{Image: "web:2"}
	if !proto.Equal(orig, was) {
		t.Errorf("changing the copy's fields changed the original: %v", orig)
	}
}
