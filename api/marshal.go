package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Marshal renders m as compact JSON: protojson field names, zero scalars
// included (but an unset sub-message or proto3 optional absent rather than
// null), int64/uint64 fields as numbers rather than protojson's strings,
// because every value we store fits a float64 consumer's needs (indexes,
// byte counts, milliseconds) and people read these with jq, and durations
// as users write them ("1m30s", "500ms") rather than protojson's "90s" and
// "0.500s". docs/json.md has the convention and why it is written this way.
func Marshal(m proto.Message) ([]byte, error) {
	return appendMarshal(nil, true, m)
}

// appendMarshal appends the wire form of m to dst (a new slice when dst is
// nil): every field when defaults is set, the populated ones otherwise.
func appendMarshal(dst []byte, defaults bool, m proto.Message) ([]byte, error) {
	out, err := appendMessage(dst, m.ProtoReflect(), defaults)
	if err != nil {
		return nil, fmt.Errorf("api: marshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return out, nil
}

// scratchPool holds the buffers protojson writes a well-known type into
// before it is copied out compacted.
var scratchPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooled keeps the pool from pinning the buffer of a rare huge object (a
// state snapshot, say); lists are marshalled element by element.
const maxPooled = 64 << 10

func getScratch() *[]byte { return scratchPool.Get().(*[]byte) }

func putScratch(b *[]byte) {
	if cap(*b) <= maxPooled {
		scratchPool.Put(b)
	}
}

// Unmarshal parses JSON written by Marshal (or by hand) into m. Unknown
// fields are an error; 64-bit integers may be numbers or strings, durations
// in Go's form ("1m30s") or protojson's ("90s").
func Unmarshal(data []byte, m proto.Message) error {
	if md := m.ProtoReflect().Descriptor(); infoOf(md).in {
		// protojson reads only its own duration form: a pass over the
		// text turns Go's into it. Should the pass fail, the text is not
		// what it follows, and protojson's error on the original says
		// best what is wrong with it.
		if rewritten, err := appendRewritten(nil, data, md); err == nil {
			data = rewritten
		}
	}
	if err := protojson.Unmarshal(data, m); err != nil {
		return fmt.Errorf("api: unmarshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}

// appendRewritten appends src, JSON for a message of type md, to dst with
// its durations in protojson's form, the only one protojson reads.
func appendRewritten(dst, src []byte, md protoreflect.MessageDescriptor) ([]byte, error) {
	if !infoOf(md).in {
		// A ServiceStatus, say: nothing to rewrite.
		return appendCompact(dst, src), nil
	}
	w := jsonRewriter{src: src, dst: dst}
	w.skipSpace()
	if err := w.message(md); err != nil {
		return nil, err
	}
	if w.skipSpace(); w.pos != len(w.src) {
		return nil, fmt.Errorf("trailing data after the object: %s", truncate(w.src[w.pos:]))
	}
	return w.dst, nil
}

// messageInfo is what the rewriter needs of a message type, computed once.
type messageInfo struct {
	// in says whether a duration is anywhere in the message or below it.
	// Other well-known types have JSON forms of their own and are left as
	// written.
	in bool
	// fields by JSON name and, as protojson also accepts it, by proto name.
	fields map[string]fieldInfo
	// ordered are the fields in declaration order, the order protojson
	// writes them in.
	ordered []fieldInfo
}

// fieldInfo is a field and what its values may hold: a 64-bit integer or
// a duration (out, where the wire form and protojson's differ), a
// duration (in, what Unmarshal rewrites).
type fieldInfo struct {
	fd      protoreflect.FieldDescriptor
	name    string // the JSON name
	out, in bool
}

func newFieldInfo(fd protoreflect.FieldDescriptor) fieldInfo {
	found := fieldHolds(fd, map[protoreflect.FullName]bool{})
	return fieldInfo{fd: fd, name: fd.JSONName(), out: found.out(), in: found.durations}
}

var messageInfos sync.Map // protoreflect.FullName -> *messageInfo

func infoOf(md protoreflect.MessageDescriptor) *messageInfo {
	if v, ok := messageInfos.Load(md.FullName()); ok {
		return v.(*messageInfo)
	}
	info := &messageInfo{fields: map[string]fieldInfo{}}
	if !isWellKnown(md) {
		info.in = messageHolds(md, map[protoreflect.FullName]bool{}).durations
	}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fi := newFieldInfo(fields.Get(i))
		info.fields[fi.name] = fi
		info.ordered = append(info.ordered, fi)
	}
	for i := 0; i < fields.Len(); i++ {
		if _, taken := info.fields[fields.Get(i).TextName()]; !taken {
			info.fields[fields.Get(i).TextName()] = newFieldInfo(fields.Get(i))
		}
	}
	// Computed for the type asked about only: an answer found inside a
	// cycle may be partial for the types along it.
	v, _ := messageInfos.LoadOrStore(md.FullName(), info)
	return v.(*messageInfo)
}

// holdings are the kinds of value the rewriter changes.
type holdings struct{ int64s, durations bool }

// out reports whether the wire form differs from protojson's.
func (h holdings) out() bool { return h.int64s || h.durations }

func messageHolds(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) holdings {
	var found holdings
	if seen[md.FullName()] || isWellKnown(md) {
		return found // a cycle adds nothing new; well-known types are left as written
	}
	seen[md.FullName()] = true
	fields := md.Fields()
	for i := 0; i < fields.Len() && !(found.int64s && found.durations); i++ {
		h := fieldHolds(fields.Get(i), seen)
		found.int64s = found.int64s || h.int64s
		found.durations = found.durations || h.durations
	}
	return found
}

// fieldHolds is what a value of fd (or each of its elements or map values)
// may hold.
func fieldHolds(fd protoreflect.FieldDescriptor, seen map[protoreflect.FullName]bool) holdings {
	if fd.IsMap() {
		fd = fd.MapValue()
	}
	switch fd.Kind() {
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return holdings{int64s: true}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if isDuration(fd.Message()) {
			return holdings{durations: true}
		}
		return messageHolds(fd.Message(), seen)
	}
	return holdings{}
}

// isWellKnown reports the google.protobuf types whose JSON form is special
// (Timestamp as a string, Struct as any object); they carry no int64 to fix.
func isWellKnown(md protoreflect.MessageDescriptor) bool {
	return md.ParentFile() != nil && md.ParentFile().Package() == "google.protobuf"
}

// jsonRewriter copies JSON in the wire form from src to dst, value by
// value, guided by the message descriptor, into what protojson reads.
type jsonRewriter struct {
	src []byte
	pos int
	dst []byte
}

var errTruncated = errors.New("unexpected end of JSON")

func (w *jsonRewriter) skipSpace() {
	for w.pos < len(w.src) && isSpace(w.src[w.pos]) {
		w.pos++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// expect consumes c, after any space.
func (w *jsonRewriter) expect(c byte) error {
	w.skipSpace()
	if w.pos >= len(w.src) {
		return errTruncated
	}
	if w.src[w.pos] != c {
		return fmt.Errorf("want %q, got %s", c, truncate(w.src[w.pos:]))
	}
	w.pos++
	return nil
}

// next reports whether another member or element follows (consuming its
// comma) or the object or list ends (consuming close).
func (w *jsonRewriter) next(close byte) (bool, error) {
	w.skipSpace()
	if w.pos >= len(w.src) {
		return false, errTruncated
	}
	switch w.src[w.pos] {
	case ',':
		w.pos++
		w.skipSpace()
		return true, nil
	case close:
		w.pos++
		return false, nil
	}
	return false, fmt.Errorf("want ',' or %q, got %s", close, truncate(w.src[w.pos:]))
}

func (w *jsonRewriter) message(md protoreflect.MessageDescriptor) error {
	if w.pos >= len(w.src) || w.src[w.pos] != '{' {
		return fmt.Errorf("want a JSON object, got %s", truncate(w.src[w.pos:]))
	}
	info := infoOf(md)
	next := 0
	return w.object(func(rawKey []byte) error {
		fi, err := info.field(rawKey, &next)
		if err != nil {
			return err
		}
		if fi.fd == nil {
			return w.copyValue() // an extension or Any's @type
		}
		return w.field(fi)
	})
}

// field looks up a member's field by its quoted key; fd is nil when there
// is none. protojson writes the fields in declaration order, so they are
// tried from *next, the one after the previous member's, which finds them
// in a step or two without hashing; other keys go through the map.
func (info *messageInfo) field(rawKey []byte, next *int) (fieldInfo, error) {
	name := rawKey[1 : len(rawKey)-1]
	for i := *next; i < len(info.ordered); i++ {
		if string(name) == info.ordered[i].name {
			*next = i + 1
			return info.ordered[i], nil
		}
	}
	if bytes.IndexByte(name, '\\') < 0 {
		return info.fields[string(name)], nil
	}
	var s string
	if err := json.Unmarshal(rawKey, &s); err != nil {
		return fieldInfo{}, fmt.Errorf("key %s: %w", truncate(rawKey), err)
	}
	return info.fields[s], nil
}

// object copies an object, calling value for each member once its key and
// colon are written, with the value next in src.
func (w *jsonRewriter) object(value func(rawKey []byte) error) error {
	w.pos++ // '{'
	w.dst = append(w.dst, '{')
	w.skipSpace()
	if w.pos < len(w.src) && w.src[w.pos] == '}' {
		w.pos++
		w.dst = append(w.dst, '}')
		return nil
	}
	for more := true; more; {
		end, err := stringEnd(w.src, w.pos)
		if err != nil {
			return err
		}
		rawKey := w.src[w.pos:end]
		w.pos = end
		w.dst = appendKey(w.dst, rawKey)
		if err := w.expect(':'); err != nil {
			return err
		}
		w.dst = append(w.dst, ':')
		w.skipSpace()
		if err := value(rawKey); err != nil {
			return fmt.Errorf("%s: %w", rawKey[1:len(rawKey)-1], err)
		}
		if more, err = w.next('}'); err != nil {
			return err
		}
		if more {
			w.dst = append(w.dst, ',')
		}
	}
	w.dst = append(w.dst, '}')
	return nil
}

func (w *jsonRewriter) field(fi fieldInfo) error {
	if !fi.in || bytes.HasPrefix(w.src[w.pos:], []byte("null")) {
		return w.copyValue()
	}
	fd := fi.fd
	switch {
	case fd.IsList():
		if err := w.expect('['); err != nil {
			return err
		}
		w.dst = append(w.dst, '[')
		w.skipSpace()
		if w.pos < len(w.src) && w.src[w.pos] == ']' {
			w.pos++
			w.dst = append(w.dst, ']')
			return nil
		}
		for i, more := 0, true; more; i++ {
			if err := w.singular(fd); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
			var err error
			if more, err = w.next(']'); err != nil {
				return err
			}
			if more {
				w.dst = append(w.dst, ',')
			}
		}
		w.dst = append(w.dst, ']')
		return nil
	case fd.IsMap():
		if w.pos >= len(w.src) || w.src[w.pos] != '{' {
			return fmt.Errorf("want a JSON object, got %s", truncate(w.src[w.pos:]))
		}
		return w.object(func([]byte) error { return w.singular(fd.MapValue()) })
	}
	return w.singular(fd)
}

// singular copies one value of fd's kind: a field's, a list element or a
// map value.
func (w *jsonRewriter) singular(fd protoreflect.FieldDescriptor) error {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if isDuration(fd.Message()) {
			return w.duration()
		}
		if infoOf(fd.Message()).in {
			return w.message(fd.Message())
		}
	}
	return w.copyValue()
}

// copyValue copies the value at w.pos as it is, compacted.
func (w *jsonRewriter) copyValue() error {
	end, err := valueEnd(w.src, w.pos)
	if err != nil {
		return err
	}
	if c := w.src[w.pos]; c == '{' || c == '[' {
		w.dst = appendCompact(w.dst, w.src[w.pos:end])
	} else {
		w.dst = append(w.dst, w.src[w.pos:end]...) // a scalar holds no space
	}
	w.pos = end
	return nil
}

// valueEnd returns the offset just past the JSON value starting at start.
func valueEnd(src []byte, start int) (int, error) {
	if start >= len(src) {
		return 0, errTruncated
	}
	switch src[start] {
	case '"':
		return stringEnd(src, start)
	case '{', '[':
		depth := 0
		for i := start; i < len(src); i++ {
			switch src[i] {
			case '"':
				end, err := stringEnd(src, i)
				if err != nil {
					return 0, err
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1, nil
				}
			}
		}
		return 0, errTruncated
	}
	i := start
	for i < len(src) && !isSpace(src[i]) && src[i] != ',' && src[i] != '}' && src[i] != ']' {
		i++
	}
	if i == start {
		return 0, fmt.Errorf("want a JSON value, got %s", truncate(src[start:]))
	}
	return i, nil
}

// stringEnd returns the offset just past the JSON string whose opening
// quote is at start.
func stringEnd(src []byte, start int) (int, error) {
	if start >= len(src) || src[start] != '"' {
		return 0, fmt.Errorf("want a JSON string, got %s", truncate(src[min(start, len(src)):]))
	}
	// A byte loop: the strings here are short (keys, names, durations),
	// where it beats starting bytes.IndexByte for each.
	for i := start + 1; i < len(src); i++ {
		switch src[i] {
		case '"':
			return i + 1, nil
		case '\\':
			i++ // the escaped byte cannot end the string
		}
	}
	return 0, errTruncated
}

// appendCompact appends src, valid JSON, to dst without the space outside
// its strings, as json.Compact would.
func appendCompact(dst, src []byte) []byte {
	// The common case, protojson's output with no space in it at all, is
	// told by a byte loop much cheaper than following the strings. Raw
	// control bytes cannot be in a JSON string, so any space is found.
	spaced := false
	for _, c := range src {
		if c <= ' ' {
			spaced = true
			break
		}
	}
	if !spaced {
		return append(dst, src...)
	}
	start := 0
	for i := 0; i < len(src); {
		switch c := src[i]; {
		case c == '"':
			end, err := stringEnd(src, i)
			if err != nil {
				return append(dst, src[start:]...) // not JSON: left as it is
			}
			i = end
		case isSpace(c):
			dst = append(dst, src[start:i]...)
			i++
			start = i
		default:
			i++
		}
	}
	return append(dst, src[start:]...)
}

// appendKey appends an object key as the encoder before this one wrote it:
// decoded, then encoded again by encoding/json, which escapes U+2028 and
// U+2029 where protojson leaves them as they are. Nothing else differs, so
// the key is copied unless it holds one of those two.
func appendKey(dst, rawKey []byte) []byte {
	// Both begin with the byte 0xE2 in UTF-8, which field names never hold.
	if bytes.IndexByte(rawKey, 0xE2) < 0 || !bytes.Contains(rawKey, []byte("\u2028")) && !bytes.Contains(rawKey, []byte("\u2029")) {
		return append(dst, rawKey...)
	}
	var s string
	if err := json.Unmarshal(rawKey, &s); err != nil {
		return append(dst, rawKey...)
	}
	var buf bytes.Buffer
	writeString(&buf, s)
	return append(dst, buf.Bytes()...)
}

// member is one key of a JSON object, kept in the order it was written.
type member struct {
	key   string
	value json.RawMessage
}

// readObject splits a JSON object into its members, in order. The values
// are slices of data.
func readObject(data []byte) ([]member, error) {
	if !json.Valid(data) {
		var v json.RawMessage // for the syntax error and its offset
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("invalid JSON %s", truncate(data))
	}
	start := 0
	for start < len(data) && isSpace(data[start]) {
		start++
	}
	if start == len(data) || data[start] != '{' {
		return nil, fmt.Errorf("want a JSON object, got %s", truncate(data))
	}
	w := jsonRewriter{src: data, pos: start + 1}
	var out []member
	w.skipSpace()
	if w.pos < len(data) && data[w.pos] == '}' {
		return out, nil
	}
	for more := true; more; {
		end, err := stringEnd(data, w.pos)
		if err != nil {
			return nil, err
		}
		rawKey := data[w.pos:end]
		key := string(rawKey[1 : len(rawKey)-1])
		if bytes.IndexByte(rawKey, '\\') >= 0 || !utf8.ValidString(key) {
			// encoding/json's rules: escapes, and U+FFFD for bad UTF-8.
			if err := json.Unmarshal(rawKey, &key); err != nil {
				return nil, fmt.Errorf("key %s: %w", truncate(rawKey), err)
			}
		}
		w.pos = end
		if err := w.expect(':'); err != nil {
			return nil, err
		}
		w.skipSpace()
		if end, err = valueEnd(data, w.pos); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out = append(out, member{key, data[w.pos:end:end]})
		w.pos = end
		if more, err = w.next('}'); err != nil {
			return nil, err
		}
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

// writeString writes s as a JSON string without encoding/json's HTML
// escaping, as protojson writes its strings.
func writeString(buf *bytes.Buffer, s string) {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\'
	}
	if plain { // every field name
		buf.WriteByte('"')
		buf.WriteString(s)
		buf.WriteByte('"')
		return
	}
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
