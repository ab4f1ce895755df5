package manifest

import (
	"errors"
	"fmt"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

var specDescriptor = (&orchpb.ServiceSpec{}).ProtoReflect().Descriptor()

// buildSpec turns the object checkSchema accepted into a spec.
//
// Writing the object out as JSON for protojson to read back cost more than
// all the checks, and setting the fields through protoreflect is not much
// cheaper (it boxes every string twice). So the object is encoded in the
// protobuf binary form, which proto.Unmarshal reads with generated code at
// a fraction of either cost. The encoding covers every kind of value a
// ServiceSpec holds (TestSpecEncoderCoversServiceSpec); FuzzBuildSpec holds
// it to the protojson round trip it replaced (build_oracle_test.go).
func buildSpec(norm map[string]any) (*orchpb.ServiceSpec, error) {
	b, err := appendFields(nil, specDescriptor, norm)
	if err != nil {
		return nil, err
	}
	spec := &orchpb.ServiceSpec{}
	if err := proto.Unmarshal(b, spec); err != nil {
		// checkSchema let through something the binary form refuses: a gap
		// in checkSchema, reported as is rather than hidden.
		return nil, fmt.Errorf("manifest: checked document: %w", err)
	}
	return spec, nil
}

// errUnsupported marks a value appendFields has no encoding for: a kind
// whose JSON form has rules of its own (enums, bytes, floats, well-known
// types other than Duration), a oneof (protojson refuses two of its
// fields, the binary form keeps the last), or a map key that is not a
// string (protojson calls "1" and "01" the same key). A ServiceSpec has
// none of them; a field that adds one must teach appendFields its rules
// first, and TestSpecEncoderCoversServiceSpec says so.
var errUnsupported = errors.New("value the spec encoder does not support")

func unsupported(fd protoreflect.FieldDescriptor) error {
	return fmt.Errorf("manifest: field %s (%s): %w", fd.FullName(), fd.Kind(), errUnsupported)
}

// appendFields appends the binary encoding of obj, a checkSchema result for
// md (keys are field JSON names, nulls are gone, integers are int64 in
// range), to b.
func appendFields(b []byte, md protoreflect.MessageDescriptor, obj map[string]any) ([]byte, error) {
	fields := md.Fields()
	for name, v := range obj {
		fd := fields.ByJSONName(name)
		if fd == nil {
			return nil, fmt.Errorf("manifest: unknown field %q in %s after checking", name, md.FullName())
		}
		if !supported(fd) {
			return nil, unsupported(fd)
		}
		var err error
		switch {
		case fd.IsMap():
			b, err = appendMap(b, fd, v)
		case fd.IsList():
			elems, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("manifest: field %s: %T after checking, want a list", fd.FullName(), v)
			}
			for _, e := range elems {
				if b, err = appendValue(b, fd.Number(), fd, e); err != nil {
					break
				}
			}
		default:
			b, err = appendValue(b, fd.Number(), fd, v)
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// appendMap appends each entry as the binary form has it: a message with
// the key as field 1 and the value as field 2.
func appendMap(b []byte, fd protoreflect.FieldDescriptor, v any) ([]byte, error) {
	entries, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("manifest: field %s: %T after checking, want a mapping", fd.FullName(), v)
	}
	for k, e := range entries {
		b = protowire.AppendTag(b, fd.Number(), protowire.BytesType)
		start := len(b)
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, k)
		var err error
		if b, err = appendValue(b, 2, fd.MapValue(), e); err != nil {
			return nil, err
		}
		b = prefixLength(b, start)
	}
	return b, nil
}

// appendValue appends one value of fd's kind as field num: a singular
// field, a list element (unpacked, which a parser must accept for packed
// fields too) or a map value.
func appendValue(b []byte, num protoreflect.FieldNumber, fd protoreflect.FieldDescriptor, v any) ([]byte, error) {
	switch fd.Kind() {
	case protoreflect.MessageKind:
		if d, ok := v.(duration); ok {
			return appendDuration(b, num, d), nil
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, checkedAs(fd, v)
		}
		b = protowire.AppendTag(b, num, protowire.BytesType)
		start := len(b)
		b, err := appendFields(b, fd.Message(), obj)
		if err != nil {
			return nil, err
		}
		return prefixLength(b, start), nil
	case protoreflect.StringKind:
		if s, ok := v.(string); ok {
			b = protowire.AppendTag(b, num, protowire.BytesType)
			return protowire.AppendString(b, s), nil
		}
	case protoreflect.BoolKind:
		if t, ok := v.(bool); ok {
			b = protowire.AppendTag(b, num, protowire.VarintType)
			return protowire.AppendVarint(b, protowire.EncodeBool(t)), nil
		}
	}
	i, ok := v.(int64)
	if !ok {
		return nil, checkedAs(fd, v)
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		// checkInt kept i in the field's range; a negative int32 is
		// written sign-extended, as the binary form wants.
		b = protowire.AppendTag(b, num, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(i)), nil
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		b = protowire.AppendTag(b, num, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeZigZag(i)), nil
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		b = protowire.AppendTag(b, num, protowire.Fixed32Type)
		return protowire.AppendFixed32(b, uint32(i)), nil
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		b = protowire.AppendTag(b, num, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, uint64(i)), nil
	}
	return nil, unsupported(fd)
}

// checkedAs reports a value checkSchema should not have let through for fd.
func checkedAs(fd protoreflect.FieldDescriptor, v any) error {
	return fmt.Errorf("manifest: field %s (%s): %T after checking", fd.FullName(), fd.Kind(), v)
}

// supported reports whether appendFields encodes values of fd (its
// elements, its map entries) itself; see errUnsupported.
func supported(fd protoreflect.FieldDescriptor) bool {
	if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
		return false
	}
	if fd.IsMap() {
		if fd.MapKey().Kind() != protoreflect.StringKind {
			return false
		}
		fd = fd.MapValue()
	}
	switch fd.Kind() {
	case protoreflect.MessageKind:
		md := fd.Message()
		return md.FullName() == durationName || md.ParentFile().Package() != "google.protobuf"
	case protoreflect.StringKind, protoreflect.BoolKind,
		protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind, protoreflect.Uint64Kind,
		protoreflect.Sint32Kind, protoreflect.Sint64Kind,
		protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return true
	}
	return false
}

// prefixLength puts the length of b[start:] in front of it, as the
// binary form of an embedded message wants. The content is written first
// because its length is not known before.
func prefixLength(b []byte, start int) []byte {
	n := len(b) - start
	size := protowire.SizeVarint(uint64(n))
	b = append(b, make([]byte, size)...)
	copy(b[start+size:], b[start:start+n])
	protowire.AppendVarint(b[start:start], uint64(n))
	return b
}
