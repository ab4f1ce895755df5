package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// EmitDefaultValues rather than EmitUnpopulated: "restarts": 0 shows, but an
// unset sub-message or proto3 optional stays absent instead of null.
var marshalOpts = protojson.MarshalOptions{EmitDefaultValues: true}

// Marshal renders m as compact JSON: protojson field names, zero scalars
// included, and int64/uint64 fields as numbers rather than protojson's
// strings, because every value we store fits a float64 consumer's needs
// (indexes, byte counts, milliseconds) and people read these with jq.
func Marshal(m proto.Message) ([]byte, error) {
	return marshalWith(marshalOpts, m)
}

func marshalWith(opts protojson.MarshalOptions, m proto.Message) ([]byte, error) {
	raw, err := opts.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("wire: marshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	out, err := numberify(raw, m.ProtoReflect().Descriptor())
	if err != nil {
		return nil, fmt.Errorf("wire: marshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return out, nil
}

// Unmarshal parses JSON written by Marshal (or by hand) into m. Unknown
// fields are an error; 64-bit integers may be numbers or strings.
func Unmarshal(data []byte, m proto.Message) error {
	if err := protojson.Unmarshal(data, m); err != nil {
		return fmt.Errorf("wire: unmarshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}

// member is one key of a JSON object, kept in the order it was written.
type member struct {
	key   string
	value json.RawMessage
}

// readObject splits a JSON object into its members, in order.
func readObject(data []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want a JSON object, got %s", truncate(data))
	}
	var out []member
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
		out = append(out, member{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

// writeObject is the inverse of readObject.
func writeObject(buf *bytes.Buffer, members []member) {
	buf.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeString(buf, m.key)
		buf.WriteByte(':')
		buf.Write(m.value)
	}
	buf.WriteByte('}')
}

// numberify rewrites the 64-bit integer fields of a protojson object, found
// through the message descriptor, from strings into numbers, and compacts
// the result (protojson randomises its whitespace on purpose).
func numberify(data []byte, md protoreflect.MessageDescriptor) ([]byte, error) {
	if isWellKnown(md) {
		var buf bytes.Buffer
		err := json.Compact(&buf, data)
		return buf.Bytes(), err
	}
	members, err := readObject(data)
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
		v, err := numberifyField(m.value, fd)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.key, err)
		}
		members[i].value = v
	}
	var buf bytes.Buffer
	writeObject(&buf, members)
	return buf.Bytes(), nil
}

func numberifyField(raw json.RawMessage, fd protoreflect.FieldDescriptor) (json.RawMessage, error) {
	if string(raw) == "null" {
		return raw, nil
	}
	if !holds64(fd) {
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
			v, err := numberifyValue(e, fd)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			elems[i] = v
		}
		return marshalRawList(elems), nil
	case fd.IsMap():
		members, err := readObject(raw)
		if err != nil {
			return nil, err
		}
		for i, m := range members {
			v, err := numberifyValue(m.value, fd.MapValue())
			if err != nil {
				return nil, fmt.Errorf("[%s]: %w", m.key, err)
			}
			members[i].value = v
		}
		var buf bytes.Buffer
		writeObject(&buf, members)
		return buf.Bytes(), nil
	}
	return numberifyValue(raw, fd)
}

func numberifyValue(raw json.RawMessage, fd protoreflect.FieldDescriptor) (json.RawMessage, error) {
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
		return numberify(raw, fd.Message())
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// isWellKnown reports the google.protobuf types whose JSON form is special
// (Timestamp as a string, Struct as any object); they carry no int64 to fix.
func isWellKnown(md protoreflect.MessageDescriptor) bool {
	return md.ParentFile() != nil && md.ParentFile().Package() == "google.protobuf"
}

func marshalRawList(elems []json.RawMessage) json.RawMessage {
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

// writeString writes s as a JSON string without encoding/json's HTML
// escaping, as protojson writes its strings.
func writeString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	buf.Truncate(buf.Len() - 1) // Encode's newline
}

func truncate(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}

// with64 caches, per message type, whether any field in it or below it is a
// 64-bit integer (which protojson writes as a string).
var with64 sync.Map // protoreflect.FullName -> bool

func holds64(fd protoreflect.FieldDescriptor) bool {
	if fd.IsMap() {
		return holds64(fd.MapValue())
	}
	switch fd.Kind() {
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return true
	case protoreflect.MessageKind, protoreflect.GroupKind:
		md := fd.Message()
		if v, ok := with64.Load(md.FullName()); ok {
			return v.(bool)
		}
		found := messageHolds64(md, map[protoreflect.FullName]bool{})
		// Cached only here, for the type asked about: an answer found
		// inside a cycle may be partial for the types along it.
		with64.Store(md.FullName(), found)
		return found
	}
	return false
}

func messageHolds64(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
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
			found = messageHolds64(fd.Message(), seen)
		}
	}
	return found
}
