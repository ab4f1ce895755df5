package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Keys the flat Service form adds to the spec's own (docs/api.md, "Bodies":
// the manifest's fields plus version, generation, status and createIndex).
const (
	keyVersion      = "version"
	keyGeneration   = "generation"
	keyStatus       = "status"
	keyCreateIndex  = "createIndex"
	keyPreviousSpec = "previousSpec"
)

// ServiceStateKeys are the keys MarshalService adds to the spec's own: what
// the cluster made of the spec. A manifest may carry them (the output of
// `orchctl get service NAME -o yaml`, applied back); admission ignores them.
var ServiceStateKeys = []string{keyVersion, keyGeneration, keyStatus, keyCreateIndex}

// alwaysShown are the spec fields written even when empty, so that every
// service reads like a manifest. replicas is not among them: it has
// presence, so it shows whenever it is set (0 included) and is absent only
// for a global service, exactly as in the manifest.
var alwaysShown = []string{"kind", "name", "namespace", "mode", "image"}

// MarshalSpec renders a spec the way a user writes a manifest: zero fields
// omitted. It is the body of PUT /v1/namespaces/{ns}/services/{name}.
func MarshalSpec(spec *orchpb.ServiceSpec) ([]byte, error) {
	if spec == nil {
		spec = &orchpb.ServiceSpec{}
	}
	members, err := specMembers(spec)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	writeObject(&buf, members)
	return buf.Bytes(), nil
}

func specMembers(spec *orchpb.ServiceSpec) ([]member, error) {
	raw, err := appendMarshal(nil, false, spec)
	if err != nil {
		return nil, err
	}
	members, err := readObject(raw)
	if err != nil {
		return nil, fmt.Errorf("api: service spec %s/%s: %w", spec.GetNamespace(), spec.GetName(), err)
	}
	fields := spec.ProtoReflect().Descriptor().Fields()
	for _, name := range alwaysShown {
		if !slices.ContainsFunc(members, func(m member) bool { return m.key == name }) {
			members = append(members, member{name, json.RawMessage(`""`)})
		}
	}
	// Declaration order puts kind, name, namespace first, as in a manifest.
	slices.SortStableFunc(members, func(a, b member) int {
		return fieldIndex(fields, a.key) - fieldIndex(fields, b.key)
	})
	return members, nil
}

func fieldIndex(fields protoreflect.FieldDescriptors, jsonName string) int {
	if fd := fields.ByJSONName(jsonName); fd != nil {
		return fd.Index()
	}
	return fields.Len()
}

// MarshalService renders a Service flat: the spec's keys, then version,
// generation, status and createIndex. The previous spec (rollback's target)
// is internal and not shown.
func MarshalService(s *orchpb.Service) ([]byte, error) {
	return appendService(nil, s)
}

// appendService appends the flat form of s to dst (a new slice when dst is
// nil).
func appendService(dst []byte, s *orchpb.Service) ([]byte, error) {
	status := s.GetStatus()
	if status == nil {
		status = &orchpb.ServiceStatus{}
	}
	if status.GetJob() == nil && s.GetJob() != nil {
		// A job as stored (a watch event): its progress shows as a read's.
		status = proto.Clone(status).(*orchpb.ServiceStatus)
		status.Job = s.GetJob()
	}
	if spec := s.GetSpec(); spec.GetKind() != "" && spec.GetName() != "" && spec.GetNamespace() != "" && spec.GetMode() != "" && spec.GetImage() != "" {
		// Every stored spec has its always-shown fields, and the encoder
		// writes fields in declaration order, which is the manifest's: the
		// spec's own JSON is the flat object's start, no reshuffling needed.
		return appendServiceFlat(dst, spec, s, status)
	}
	statusJSON, err := Marshal(status)
	if err != nil {
		return nil, err
	}
	members, err := specMembers(s.GetSpec())
	if err != nil {
		return nil, err
	}
	members = append(members,
		member{keyVersion, uintJSON(s.GetVersion())},
		member{keyGeneration, uintJSON(s.GetGeneration())},
		member{keyStatus, statusJSON},
		member{keyCreateIndex, uintJSON(s.GetCreateIndex())},
	)
	var buf bytes.Buffer
	writeObject(&buf, members)
	if dst == nil {
		return buf.Bytes(), nil
	}
	return append(dst, buf.Bytes()...), nil
}

// UnmarshalService parses the flat form back into spec and metadata. Unknown
// keys are an error, as they are for every other object.
func UnmarshalService(data []byte) (*orchpb.Service, error) {
	members, err := readObject(data)
	if err != nil {
		return nil, fmt.Errorf("api: unmarshal service: %w", err)
	}
	svc := &orchpb.Service{}
	var spec []member
	for _, m := range members {
		var err error
		switch m.key {
		case keyVersion:
			svc.Version, err = parseUint(m.value)
		case keyGeneration:
			svc.Generation, err = parseUint(m.value)
		case keyCreateIndex:
			svc.CreateIndex, err = parseUint(m.value)
		case keyStatus:
			if string(m.value) != "null" {
				svc.Status = &orchpb.ServiceStatus{}
				err = Unmarshal(m.value, svc.Status)
			}
		case keyPreviousSpec:
			// Not written by MarshalService; accepted so that a server that
			// chooses to show it does not break older clients.
			if string(m.value) != "null" {
				svc.PreviousSpec = &orchpb.ServiceSpec{}
				err = Unmarshal(m.value, svc.PreviousSpec)
			}
		default:
			spec = append(spec, m)
		}
		if err != nil {
			return nil, fmt.Errorf("api: unmarshal service: %s: %w", m.key, err)
		}
	}
	var buf bytes.Buffer
	writeObject(&buf, spec)
	svc.Spec = &orchpb.ServiceSpec{}
	if err := Unmarshal(buf.Bytes(), svc.Spec); err != nil {
		return nil, err
	}
	return svc, nil
}

func uintJSON(v uint64) json.RawMessage {
	return json.RawMessage(strconv.FormatUint(v, 10))
}

// parseUint takes a JSON number or, as protojson writes it, a string.
func parseUint(raw json.RawMessage) (uint64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(raw)
	}
	return strconv.ParseUint(s, 10, 64)
}

// MarshalObject renders any object in its wire form: a Service flat, every
// other message through Marshal. Watch events and lists use it.
func MarshalObject(m proto.Message) ([]byte, error) {
	return appendObject(nil, m)
}

func appendObject(dst []byte, m proto.Message) ([]byte, error) {
	if s, ok := m.(*orchpb.Service); ok {
		return appendService(dst, s)
	}
	return appendMarshal(dst, true, m)
}

// UnmarshalObject is the inverse of MarshalObject: m may be a *orchpb.Service
// (read flat) or any other message.
func UnmarshalObject(data []byte, m proto.Message) error {
	if s, ok := m.(*orchpb.Service); ok {
		parsed, err := UnmarshalService(data)
		if err != nil {
			return err
		}
		proto.Reset(s)
		proto.Merge(s, parsed)
		return nil
	}
	return Unmarshal(data, m)
}

// MarshalList renders objects as one JSON array of their wire forms.
func MarshalList[T proto.Message](items []T) ([]byte, error) {
	out := []byte{'['}
	for i, it := range items {
		if i > 0 {
			out = append(out, ',')
		}
		var err error
		if out, err = appendObject(out, it); err != nil {
			return nil, err
		}
	}
	return append(out, ']'), nil
}

// UnmarshalList parses a JSON array of objects; newT makes each element.
func UnmarshalList[T proto.Message](data []byte, newT func() T) ([]T, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		return nil, fmt.Errorf("api: unmarshal list: %w", err)
	}
	out := make([]T, len(elems))
	for i, e := range elems {
		t := newT()
		if err := UnmarshalObject(e, t); err != nil {
			return nil, fmt.Errorf("api: list element %d: %w", i, err)
		}
		out[i] = t
	}
	return out, nil
}

// appendServiceFlat appends the flat form of a service whose spec has its
// always-shown fields: the spec's JSON with the metadata after its last
// field.
func appendServiceFlat(dst []byte, spec *orchpb.ServiceSpec, s *orchpb.Service, status *orchpb.ServiceStatus) ([]byte, error) {
	if dst == nil {
		dst = make([]byte, 0, 1024) // a typical service's wire form fits
	}
	dst, err := appendMessage(dst, spec.ProtoReflect(), false)
	if err != nil {
		return nil, fmt.Errorf("api: service spec %s/%s: %w", spec.GetNamespace(), spec.GetName(), err)
	}
	dst = dst[:len(dst)-1] // the spec's closing brace
	dst = append(dst, `,"`+keyVersion+`":`...)
	dst = strconv.AppendUint(dst, s.GetVersion(), 10)
	dst = append(dst, `,"`+keyGeneration+`":`...)
	dst = strconv.AppendUint(dst, s.GetGeneration(), 10)
	dst = append(dst, `,"`+keyStatus+`":`...)
	if dst, err = appendMessage(dst, status.ProtoReflect(), true); err != nil {
		return nil, fmt.Errorf("api: marshal %s: %w", status.ProtoReflect().Descriptor().FullName(), err)
	}
	dst = append(dst, `,"`+keyCreateIndex+`":`...)
	dst = strconv.AppendUint(dst, s.GetCreateIndex(), 10)
	return append(dst, '}'), nil
}
