package store

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// shallowCopy returns a new message whose fields are m's: sub-messages,
// lists and maps are shared with m, not copied. That is enough for the
// store's copy-on-write, since stored objects are never changed in place:
// a change replaces a top-level field of the copy (assigning a new
// sub-message, list or map, never appending to or editing a shared one).
// proto.Clone would copy a replica's or a service's whole spec on every
// status change, which the apply path of a busy cluster pays for on every
// master.
func shallowCopy[T proto.Message](m T) T {
	src := m.ProtoReflect()
	dst := src.New()
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		dst.Set(fd, v)
		return true
	})
	if u := src.GetUnknown(); len(u) > 0 {
		dst.SetUnknown(u)
	}
	return dst.Interface().(T)
}
