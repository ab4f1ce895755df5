package orchpb

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestSameSeesEveryField changes each field of a status in turn (and its
// unknown fields): Same must tell every change, as proto.Equal does.
func TestSameSeesEveryField(t *testing.T) {
	base := &ReplicaStatus{Id: "r1", State: "running", Ip: "10.224.1.2", Restarts: 1, ExitCode: 0, Message: "ok", StartedAt: 7,
		Containers: []*ContainerStatus{{Name: "side", State: "running"}}}
	if !base.Same(proto.Clone(base).(*ReplicaStatus)) {
		t.Fatal("a status is not the same as its copy")
	}
	fields := base.ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		changed := proto.Clone(base).(*ReplicaStatus)
		m := changed.ProtoReflect()
		switch {
		case fd.IsList():
			m.Mutable(fd).List().Append(protoreflect.ValueOfMessage((&ContainerStatus{Name: "more"}).ProtoReflect()))
		case fd.Kind() == protoreflect.StringKind:
			m.Set(fd, protoreflect.ValueOfString(m.Get(fd).String()+"x"))
		case fd.Kind() == protoreflect.Int32Kind:
			m.Set(fd, protoreflect.ValueOfInt32(int32(m.Get(fd).Int())+1))
		case fd.Kind() == protoreflect.Int64Kind:
			m.Set(fd, protoreflect.ValueOfInt64(m.Get(fd).Int()+1))
		default:
			t.Fatalf("field %s of kind %s: teach this test (and Same) about it", fd.Name(), fd.Kind())
		}
		if proto.Equal(base, changed) {
			t.Fatalf("changing %s changed nothing", fd.Name())
		}
		if base.Same(changed) {
			t.Errorf("Same misses a change of %s", fd.Name())
		}
	}
	unknown := proto.Clone(base).(*ReplicaStatus)
	unknown.ProtoReflect().SetUnknown([]byte{0xf8, 0x7f, 0x01}) // field 1023, varint 1
	if base.Same(unknown) {
		t.Error("Same misses unknown fields")
	}
	changedContainer := proto.Clone(base).(*ReplicaStatus)
	changedContainer.Containers[0].State = "exited"
	if base.Same(changedContainer) {
		t.Error("Same misses a sidecar's change")
	}
	var none *ReplicaStatus
	if none.Same(base) || !none.Same(nil) {
		t.Error("Same mishandles nil")
	}
}
