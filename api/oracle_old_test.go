package api

// The encoder as it was before the single-pass rewrite, kept as the oracle
// the new one is held to byte for byte (oracle_test.go's tests).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// oldMarshalOpts are the options Marshal gave protojson: EmitDefaultValues
// rather than EmitUnpopulated, so that an unset sub-message or proto3
// optional stays absent instead of null.
var oldMarshalOpts = protojson.MarshalOptions{EmitDefaultValues: true}

func oldMarshalWith(opts protojson.MarshalOptions, m proto.Message) ([]byte, error) {
	raw, err := opts.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("api: marshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	out, err := oldNumberify(raw, m.ProtoReflect().Descriptor())
	if err != nil {
		return nil, fmt.Errorf("api: marshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return out, nil
}

// oldMember is one key of a JSON object, kept in the order it was written.
type oldMember struct {
	key   string
	value json.RawMessage
}

// oldReadObject splits a JSON object into its members, in order.
func oldReadObject(data []byte) ([]oldMember, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want a JSON object, got %s", oldTruncate(data))
	}
	var out []oldMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("want an object key, got %v", tok)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out = append(out, oldMember{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

// oldWriteObject is the inverse of oldReadObject.
func oldWriteObject(buf *bytes.Buffer, members []oldMember) {
	buf.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			buf.WriteByte(',')
		}
		oldWriteString(buf, m.key)
		buf.WriteByte(':')
		buf.Write(m.value)
	}
	buf.WriteByte('}')
}

// oldNumberify rewrites the 64-bit integer fields of a protojson object, found
// through the message descriptor, from strings into numbers, and compacts
// the result (protojson randomises its whitespace on purpose).
func oldNumberify(data []byte, md protoreflect.MessageDescriptor) ([]byte, error) {
	if isWellKnown(md) {
		var buf bytes.Buffer
		err := json.Compact(&buf, data)
		return buf.Bytes(), err
	}
	members, err := oldReadObject(data)
	if err != nil {
		return nil, err
	}
	for i, m := range members {
		fd := md.Fields().ByJSONName(m.key)
		if fd == nil {
			fd = md.Fields().ByTextName(m.key)
		}
		if fd == nil {
			continue // an extension or Any's @type: leave as protojson wrote it
		}
		v, err := oldNumberifyField(m.value, fd)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.key, err)
		}
		members[i].value = v
	}
	var buf bytes.Buffer
	oldWriteObject(&buf, members)
	return buf.Bytes(), nil
}

func oldNumberifyField(raw json.RawMessage, fd protoreflect.FieldDescriptor) (json.RawMessage, error) {
	if string(raw) == "null" {
		return raw, nil
	}
	if !oldHolds64(fd) {
		// Nothing below needs rewriting (a whole ServiceSpec, say): compact
		// it in one pass instead of taking it apart and putting it back.
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	switch {
	case fd.IsList():
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return nil, err
		}
		for i, e := range elems {
			v, err := oldNumberifyValue(e, fd)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			elems[i] = v
		}
		return oldMarshalRawList(elems), nil
	case fd.IsMap():
		members, err := oldReadObject(raw)
		if err != nil {
			return nil, err
		}
		for i, m := range members {
			v, err := oldNumberifyValue(m.value, fd.MapValue())
			if err != nil {
				return nil, fmt.Errorf("[%s]: %w", m.key, err)
			}
			members[i].value = v
		}
		var buf bytes.Buffer
		oldWriteObject(&buf, members)
		return buf.Bytes(), nil
	}
	return oldNumberifyValue(raw, fd)
}

func oldNumberifyValue(raw json.RawMessage, fd protoreflect.FieldDescriptor) (json.RawMessage, error) {
	switch fd.Kind() {
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return raw, nil // already a number
		}
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			if _, err := strconv.ParseUint(s, 10, 64); err != nil {
				return nil, fmt.Errorf("64-bit integer %q: %w", s, err)
			}
		}
		return json.RawMessage(s), nil
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if isDuration(fd.Message()) {
			return oldDuration(raw)
		}
		return oldNumberify(raw, fd.Message())
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func oldMarshalRawList(elems []json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, e := range elems {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(e)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// oldWriteString writes s as a JSON string without encoding/json's HTML
// escaping, as protojson writes its strings.
func oldWriteString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	buf.Truncate(buf.Len() - 1) // Encode's newline
}

func oldTruncate(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}

// oldWith64 caches, per message type, whether any field in it or below it is a
// 64-bit integer (which protojson writes as a string).
var oldWith64 sync.Map // protoreflect.FullName -> bool

func oldHolds64(fd protoreflect.FieldDescriptor) bool {
	if fd.IsMap() {
		return oldHolds64(fd.MapValue())
	}
	switch fd.Kind() {
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return true
	case protoreflect.MessageKind, protoreflect.GroupKind:
		md := fd.Message()
		if isDuration(md) {
			return true
		}
		if v, ok := oldWith64.Load(md.FullName()); ok {
			return v.(bool)
		}
		found := oldMessageHolds64(md, map[protoreflect.FullName]bool{})
		// Cached only here, for the type asked about: an answer found
		// inside a cycle may be partial for the types along it.
		oldWith64.Store(md.FullName(), found)
		return found
	}
	return false
}

func oldMessageHolds64(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] || isWellKnown(md) {
		return false // a cycle adds nothing new; well-known types are left as written
	}
	seen[md.FullName()] = true
	found := false
	fields := md.Fields()
	for i := 0; i < fields.Len() && !found; i++ {
		fd := fields.Get(i)
		if fd.IsMap() {
			fd = fd.MapValue()
		}
		switch fd.Kind() {
		case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
			protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
			found = true
		case protoreflect.MessageKind, protoreflect.GroupKind:
			found = isDuration(fd.Message()) || oldMessageHolds64(fd.Message(), seen)
		}
	}
	return found
}

func oldSpecMembers(spec *orchpb.ServiceSpec) ([]oldMember, error) {
	raw, err := oldMarshalWith(protojson.MarshalOptions{}, spec)
	if err != nil {
		return nil, err
	}
	members, err := oldReadObject(raw)
	if err != nil {
		return nil, fmt.Errorf("api: service spec %s/%s: %w", spec.GetNamespace(), spec.GetName(), err)
	}
	fields := spec.ProtoReflect().Descriptor().Fields()
	for _, name := range alwaysShown {
		if !slices.ContainsFunc(members, func(m oldMember) bool { return m.key == name }) {
			members = append(members, oldMember{name, json.RawMessage(`""`)})
		}
	}
	// Declaration order puts kind, name, namespace first, as in a manifest.
	slices.SortStableFunc(members, func(a, b oldMember) int {
		return fieldIndex(fields, a.key) - fieldIndex(fields, b.key)
	})
	return members, nil
}

// oldMarshalService renders a Service flat: the spec's keys, then version,
// generation, status and createIndex. The previous spec (rollback's target)
// is internal and not shown.
func oldMarshalService(s *orchpb.Service) ([]byte, error) {
	status := s.GetStatus()
	if status == nil {
		status = &orchpb.ServiceStatus{}
	}
	statusJSON, err := oldMarshalWith(oldMarshalOpts, status)
	if err != nil {
		return nil, err
	}
	if spec := s.GetSpec(); spec.GetKind() != "" && spec.GetName() != "" && spec.GetNamespace() != "" && spec.GetMode() != "" && spec.GetImage() != "" {
		// Every stored spec has its always-shown fields, and protojson
		// writes fields in declaration order, which is the manifest's: the
		// spec's own JSON is the flat object's start, no reshuffling needed.
		return oldAppendServiceMeta(spec, s, statusJSON)
	}
	members, err := oldSpecMembers(s.GetSpec())
	if err != nil {
		return nil, err
	}
	members = append(members,
		oldMember{keyVersion, uintJSON(s.GetVersion())},
		oldMember{keyGeneration, uintJSON(s.GetGeneration())},
		oldMember{keyStatus, statusJSON},
		oldMember{keyCreateIndex, uintJSON(s.GetCreateIndex())},
	)
	var buf bytes.Buffer
	oldWriteObject(&buf, members)
	return buf.Bytes(), nil
}

func oldAppendServiceMeta(spec *orchpb.ServiceSpec, s *orchpb.Service, statusJSON []byte) ([]byte, error) {
	var raw []byte
	var err error
	if oldMessageHolds64(spec.ProtoReflect().Descriptor(), map[protoreflect.FullName]bool{}) {
		raw, err = oldMarshalWith(protojson.MarshalOptions{}, spec)
	} else {
		// No 64-bit integers in a spec today: nothing for oldNumberify to do.
		raw, err = protojson.MarshalOptions{}.Marshal(spec)
	}
	if err != nil {
		return nil, fmt.Errorf("api: service spec %s/%s: %w", spec.GetNamespace(), spec.GetName(), err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("api: service spec %s/%s: %w", spec.GetNamespace(), spec.GetName(), err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("}"))
	out = append(out, `,"`+keyVersion+`":`...)
	out = append(out, uintJSON(s.GetVersion())...)
	out = append(out, `,"`+keyGeneration+`":`...)
	out = append(out, uintJSON(s.GetGeneration())...)
	out = append(out, `,"`+keyStatus+`":`...)
	out = append(out, statusJSON...)
	out = append(out, `,"`+keyCreateIndex+`":`...)
	out = append(out, uintJSON(s.GetCreateIndex())...)
	return append(out, '}'), nil
}

// oldDuration rewrites protojson's duration text in Go's form, through
// encoding/json; text time.ParseDuration refuses is left as it is.
func oldDuration(raw json.RawMessage) (json.RawMessage, error) {
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return raw, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return raw, nil
	}
	return json.Marshal(orchpb.FormatDuration(d))
}
