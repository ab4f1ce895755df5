package openapi

import (
	"slices"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// flatServiceKeys are the Service message's fields that the flat form
// writes beside the spec's own (api.MarshalService); the rest of the
// message (the spec itself, the rollback target, the rollout record) is
// not shown.
var flatServiceKeys = []string{"version", "generation", "status", "createIndex"}

// serviceMessage is the message written flat.
const serviceMessage = "orch.v1.Service"

// message is a reference to the component of a protobuf message, described
// as the api package writes it: protojson names, zero scalars included,
// 64-bit integers as JSON numbers, and a Service flat.
func (reg *registry) message(md protoreflect.MessageDescriptor) *Schema {
	switch md.FullName() {
	case "google.protobuf.Duration":
		return &Schema{Type: "string", Description: `a duration in seconds, as "1.5s"`}
	case "google.protobuf.Timestamp":
		return &Schema{Type: "string", Format: "date-time"}
	}
	if md.ParentFile().Package() == "google.protobuf" {
		return &Schema{Description: "any JSON value"}
	}
	name := string(md.Name())
	if !reg.claim(name, string(md.FullName())) {
		return componentRef(name)
	}
	if md.FullName() == serviceMessage {
		*reg.schemas[name] = *reg.flatService(md)
	} else {
		*reg.schemas[name] = *reg.messageSchema(md, nil)
	}
	return componentRef(name)
}

// flatService is a Service as the API writes it: the manifest's fields
// (ServiceSpec) and flatServiceKeys in one object.
func (reg *registry) flatService(md protoreflect.MessageDescriptor) *Schema {
	spec := md.Fields().ByJSONName("spec")
	meta := reg.messageSchema(md, flatServiceKeys)
	return &Schema{
		Description: "A service in its flat form: the manifest's fields (ServiceSpec) and, beside them, " +
			"version (the Raft index that last changed it), generation (the spec's revision), status and createIndex.",
		AllOf: []*Schema{reg.message(spec.Message()), meta},
	}
}

// messageSchema describes a message's fields; only names in keep when keep
// is not nil.
func (reg *registry) messageSchema(md protoreflect.MessageDescriptor, keep []string) *Schema {
	s := &Schema{Type: "object", Properties: map[string]*Schema{}}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if keep != nil && !slices.Contains(keep, fd.JSONName()) {
			continue
		}
		s.Properties[fd.JSONName()] = reg.field(fd)
	}
	return s
}

// field describes one field: a list, a map or a single value.
func (reg *registry) field(fd protoreflect.FieldDescriptor) *Schema {
	switch {
	case fd.IsMap():
		return &Schema{Type: "object", AdditionalProperties: reg.singular(fd.MapValue())}
	case fd.IsList():
		return &Schema{Type: "array", Items: reg.singular(fd)}
	}
	return reg.singular(fd)
}

// singular describes one value of a field's kind.
func (reg *registry) singular(fd protoreflect.FieldDescriptor) *Schema {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return &Schema{Type: "boolean"}
	case protoreflect.StringKind:
		return &Schema{Type: "string"}
	case protoreflect.BytesKind:
		return &Schema{Type: "string", Format: "byte"}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return &Schema{Type: "integer", Format: "int32"}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		// api.Marshal writes them as numbers, where protojson writes strings.
		return &Schema{Type: "integer", Format: "int64"}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return &Schema{Type: "number"}
	case protoreflect.EnumKind:
		values := fd.Enum().Values()
		s := &Schema{Type: "string"}
		for i := range values.Len() {
			s.Enum = append(s.Enum, string(values.Get(i).Name()))
		}
		return s
	}
	return reg.message(fd.Message())
}
