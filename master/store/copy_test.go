package store

import (
	"fmt"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// filled sets every field of m (recursively, one level of sub-messages)
// to a non-zero value, so that a copy that forgets a field differs.
func filled(m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch {
		case fd.IsList():
			l := m.Mutable(fd).List()
			l.Append(scalarOf(fd, m, depth))
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v := mp.NewValue()
				filled(v.Message(), depth-1)
				mp.Set(protoreflect.ValueOfString("k").MapKey(), v)
				continue
			}
			mp.Set(protoreflect.ValueOfString("k").MapKey(), scalarOf(fd.MapValue(), m, depth))
		case fd.Kind() == protoreflect.MessageKind:
			if depth > 0 {
				filled(m.Mutable(fd).Message(), depth-1)
			}
		default:
			m.Set(fd, scalarOf(fd, m, depth))
		}
	}
}

func scalarOf(fd protoreflect.FieldDescriptor, parent protoreflect.Message, depth int) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(fmt.Sprint("v-", fd.Name()))
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(fd.Number()))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(fd.Number()))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(fd.Number()))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(fd.Number()))
	case protoreflect.MessageKind:
		v := parent.NewField(fd)
		if fd.IsList() {
			v = protoreflect.ValueOfMessage(v.List().NewElement().Message())
		}
		filled(v.Message(), depth-1)
		return v
	}
	panic(fmt.Sprintf("filled: field %s of kind %s", fd.FullName(), fd.Kind()))
}

func TestCopiesKeepEveryField(t *testing.T) {
	for _, c := range []struct {
		orig proto.Message
		copy func(proto.Message) proto.Message
	}{
		{&orchpb.Service{}, func(m proto.Message) proto.Message { return CopyService(m.(*orchpb.Service)) }},
		{&orchpb.Replica{}, func(m proto.Message) proto.Message { return CopyReplica(m.(*orchpb.Replica)) }},
	} {
		filled(c.orig.ProtoReflect(), 2)
		c.orig.ProtoReflect().SetUnknown([]byte{0xf8, 0x7f, 0x01}) // field 1023, varint 1
		got := c.copy(c.orig)
		if !proto.Equal(got, c.orig) {
			t.Errorf("copy of %T lost a field:\ncopy %v\norig %v", c.orig, got, c.orig)
		}
	}
}

func TestChangingACopyLeavesTheOriginal(t *testing.T) {
	orig := &orchpb.Replica{Id: "r1", State: string(orchpb.ReplicaRunning), HostPorts: []int32{8080},
		Spec: &orchpb.ServiceSpec{Name: "web", Image: "web:1", Env: map[string]string{"A": "1"}}}
	was := proto.Clone(orig)
	cp := CopyReplica(orig)
	cp.SetObserved(orchpb.ReplicaFailed)
	cp.Message, cp.Spec, cp.HostPorts = "boom", &orchpb.ServiceSpec{Image: "web:2"}, nil
	if !proto.Equal(orig, was) {
		t.Errorf("changing the copy's fields changed the original: %v", orig)
	}
}
