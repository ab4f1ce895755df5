package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

var utf8BOM = []byte("\xef\xbb\xbf")

// jsonObject reports whether doc is one JSON object, and returns it without
// the surrounding space. Anything else (YAML, broken JSON) goes to the YAML
// parser, whose errors carry line numbers.
func jsonObject(doc []byte) ([]byte, bool) {
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, false
	}
	return trimmed, true
}

// errMalformedJSON means decodeJSON was handed text that is not JSON, which
// its callers rule out (json.Valid, or JSON written by the YAML converter).
var errMalformedJSON = errors.New("manifest: malformed JSON")

// decodeJSON decodes one JSON value into what encoding/json's Decoder gives
// with UseNumber (map[string]any, []any, string, json.Number, bool, nil),
// refusing a key given twice in one object at any depth: the strict rule the
// YAML path applies, since the last key silently winning is how such a
// mistake goes unnoticed. The first duplicate in document order is reported
// as a *FieldError naming its path.
//
// It is one pass over text that is already known to be JSON, which is why it
// beats encoding/json (which scans twice) and its Token API (which allocates
// per token). On anything else it returns an error or a wrong value, but
// never panics.
func decodeJSON(data []byte) (any, error) {
	d := jsonDecoder{data: data}
	d.skipSpace()
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	if d.skipSpace(); d.pos != len(d.data) {
		return nil, d.malformed()
	}
	return v, nil
}

type jsonDecoder struct {
	data []byte
	pos  int
	// path holds the key or index of every value being decoded, outermost
	// first; it becomes a string only when a duplicate is found.
	path []pathStep
}

type pathStep struct {
	key   string
	index int // -1 for an object key
}

// maxDepth is encoding/json's nesting limit, which json.Valid applies to
// the API's documents; it bounds the recursion for any other input too.
const maxDepth = 10000

func (d *jsonDecoder) malformed() error {
	return fmt.Errorf("%w at offset %d", errMalformedJSON, d.pos)
}

func (d *jsonDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *jsonDecoder) value() (any, error) {
	if d.pos >= len(d.data) || len(d.path) > maxDepth {
		return nil, d.malformed()
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		return d.string()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		start := d.pos
		for d.pos < len(d.data) && isNumberByte(d.data[d.pos]) {
			d.pos++
		}
		return json.Number(d.data[start:d.pos]), nil
	}
	return nil, d.malformed()
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func (d *jsonDecoder) literal(word string) error {
	if !bytes.HasPrefix(d.data[d.pos:], []byte(word)) {
		return d.malformed()
	}
	d.pos += len(word)
	return nil
}

func (d *jsonDecoder) object() (any, error) {
	d.pos++ // '{'
	obj := make(map[string]any)
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return obj, nil
	}
	for {
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.malformed()
		}
		// Keys compare unescaped: "na\u006de" is name given again.
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		if _, dup := obj[k]; dup {
			return nil, &FieldError{Field: d.pathTo(k), Message: "given twice"}
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.malformed()
		}
		d.pos++
		d.skipSpace()
		d.path = append(d.path, pathStep{key: k, index: -1})
		v, err := d.value()
		d.path = d.path[:len(d.path)-1]
		if err != nil {
			return nil, err
		}
		obj[k] = v
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.malformed()
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return obj, nil
		default:
			return nil, d.malformed()
		}
	}
}

func (d *jsonDecoder) array() (any, error) {
	d.pos++         // '['
	list := []any{} // not nil, as encoding/json decodes []
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return list, nil
	}
	for {
		d.skipSpace()
		d.path = append(d.path, pathStep{index: len(list)})
		v, err := d.value()
		d.path = d.path[:len(d.path)-1]
		if err != nil {
			return nil, err
		}
		list = append(list, v)
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.malformed()
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return list, nil
		default:
			return nil, d.malformed()
		}
	}
}

// key decodes an object key. A field name, the usual key, comes from a
// table rather than being allocated anew.
func (d *jsonDecoder) key() (string, error) {
	start := d.pos + 1
	if end := bytes.IndexByte(d.data[start:], '"'); end >= 0 {
		if name, ok := fieldNames[string(d.data[start:start+end])]; ok {
			d.pos = start + end + 1
			return name, nil
		}
	}
	return d.string()
}

// fieldNames holds the JSON name of every field of a spec, at any depth.
var fieldNames = func() map[string]string {
	names := map[string]string{}
	seen := map[protoreflect.FullName]bool{}
	var walk func(md protoreflect.MessageDescriptor)
	walk = func(md protoreflect.MessageDescriptor) {
		if seen[md.FullName()] {
			return
		}
		seen[md.FullName()] = true
		fields := md.Fields()
		for i := 0; i < fields.Len(); i++ {
			names[fields.Get(i).JSONName()] = fields.Get(i).JSONName()
			if fields.Get(i).Message() != nil {
				walk(fields.Get(i).Message())
			}
		}
	}
	walk(specDescriptor)
	return names
}()

// string decodes the string starting at d.pos (its opening quote).
func (d *jsonDecoder) string() (string, error) {
	start := d.pos + 1
	end := bytes.IndexByte(d.data[start:], '"')
	if end < 0 {
		return "", d.malformed()
	}
	end += start
	raw := d.data[start:end]
	if bytes.IndexByte(raw, '\\') < 0 {
		d.pos = end + 1
		if utf8.Valid(raw) {
			return string(raw), nil
		}
		// encoding/json turns invalid UTF-8 into U+FFFD; so must we.
		return unquote(d.data[start-1 : end+1])
	}
	// An escaped quote does not end the string: find the real end.
	for i := start; i < len(d.data); i++ {
		switch d.data[i] {
		case '\\':
			i++
		case '"':
			d.pos = i + 1
			// Rare (only a key or value written with escapes), so the exact
			// rules (surrogate pairs, invalid escapes) are encoding/json's.
			return unquote(d.data[start-1 : i+1])
		}
	}
	return "", d.malformed()
}

func unquote(quoted []byte) (string, error) {
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return "", fmt.Errorf("manifest: string %.40q: %w", quoted, err)
	}
	return s, nil
}

// pathTo spells the path of key k in the object being decoded the way users
// write it: resources.memory, ports[1].name.
func (d *jsonDecoder) pathTo(k string) string {
	var b []byte
	for _, s := range d.path {
		if s.index >= 0 {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(s.index), 10)
			b = append(b, ']')
			continue
		}
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, s.key...)
	}
	if len(b) > 0 {
		b = append(b, '.')
	}
	return string(append(b, k...))
}
