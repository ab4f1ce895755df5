package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The wire form is written straight from the message, walking its
// descriptor: the fields in declaration order and maps in key order, as
// protojson writes them, but 64-bit integers as numbers and durations in
// Go's form. Letting protojson write its own form and rewriting that cost
// twice over (protojson formats each Duration with fmt, the rewriter read
// it back); the rewrite remains only as the oracle this encoder is held to
// byte for byte (oracle_test.go). The well-known types other than Duration
// have JSON forms of their own, which protojson writes.

// errNoWireForm marks a field kind the encoder has no wire form for. No
// message of orch.proto holds one (TestEncoderCoversProto); a field that
// adds one must teach the encoder protojson's rules for it first.
var errNoWireForm = errors.New("no wire form for this kind of field")

// appendMessage appends the wire form of m to dst: every field when
// defaults is set (zero scalars and empty lists included, unset messages
// and optionals left out), otherwise the populated ones only.
func appendMessage(dst []byte, m protoreflect.Message, defaults bool) ([]byte, error) {
	md := m.Descriptor()
	if isWellKnown(md) {
		return appendWellKnown(dst, m, defaults)
	}
	dst = append(dst, '{')
	first := true
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !m.Has(fd) && (!defaults || fd.HasPresence()) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, fd.JSONName()...)
		dst = append(dst, '"', ':')
		var err error
		if dst, err = appendField(dst, fd, m.Get(fd), defaults); err != nil {
			return nil, fmt.Errorf("%s: %w", fd.JSONName(), err)
		}
	}
	return append(dst, '}'), nil
}

// appendWellKnown has protojson write a google.protobuf type (Duration
// aside), compacted.
func appendWellKnown(dst []byte, m protoreflect.Message, defaults bool) ([]byte, error) {
	scratch := getScratch()
	defer putScratch(scratch)
	raw, err := protojson.MarshalOptions{EmitDefaultValues: defaults}.MarshalAppend((*scratch)[:0], m.Interface())
	if err != nil {
		return nil, err
	}
	*scratch = raw
	return appendCompact(dst, raw), nil
}

func appendField(dst []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value, defaults bool) ([]byte, error) {
	var err error
	switch {
	case fd.IsList():
		list := v.List()
		dst = append(dst, '[')
		for i := 0; i < list.Len(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendSingular(dst, fd, list.Get(i), defaults); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return append(dst, ']'), nil
	case fd.IsMap():
		return appendMap(dst, fd, v.Map(), defaults)
	}
	return appendSingular(dst, fd, v, defaults)
}

// appendMap writes the entries in key order, as protojson does. Only
// string keys are supported.
func appendMap(dst []byte, fd protoreflect.FieldDescriptor, m protoreflect.Map, defaults bool) ([]byte, error) {
	if fd.MapKey().Kind() != protoreflect.StringKind {
		return nil, fmt.Errorf("map key %s: %w", fd.MapKey().Kind(), errNoWireForm)
	}
	keys := make([]string, 0, m.Len())
	m.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k.String())
		return true
	})
	slices.Sort(keys)
	// The encoder before this one wrote the keys of a map it rewrote (its
	// values held a 64-bit integer or a duration) through encoding/json,
	// which escapes U+2028 and U+2029; kept, so that no output changes.
	lineSeps := newFieldInfo(fd).out
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendString(dst, k, lineSeps); err != nil {
			return nil, err
		}
		dst = append(dst, ':')
		if dst, err = appendSingular(dst, fd.MapValue(), m.Get(protoreflect.ValueOfString(k).MapKey()), defaults); err != nil {
			return nil, fmt.Errorf("[%s]: %w", k, err)
		}
	}
	return append(dst, '}'), nil
}

// appendSingular appends one value of fd's kind: a field's, a list element
// or a map value.
func appendSingular(dst []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value, defaults bool) ([]byte, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return strconv.AppendBool(dst, v.Bool()), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.AppendInt(dst, v.Int(), 10), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.AppendUint(dst, v.Uint(), 10), nil
	case protoreflect.StringKind:
		return appendString(dst, v.String(), false)
	case protoreflect.BytesKind:
		// protojson's form: standard base64 with padding.
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v.Bytes())
		return append(dst, '"'), nil
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if isDuration(fd.Message()) {
			return appendDuration(dst, v.Message())
		}
		return appendMessage(dst, v.Message(), defaults)
	}
	return nil, fmt.Errorf("%s: %w", fd.Kind(), errNoWireForm)
}

var errInvalidUTF8 = errors.New("string field contains invalid UTF-8")

// appendString appends s quoted with protojson's escapes (no HTML
// escaping) and, when lineSeps is set, U+2028 and U+2029 escaped too.
// Invalid UTF-8 is an error, as protojson has it.
func appendString(dst []byte, s string, lineSeps bool) ([]byte, error) {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= ' ' && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		r, n := rune(c), 1
		if c >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return nil, errInvalidUTF8
			}
			if !lineSeps || (r != '\u2028' && r != '\u2029') {
				i += n
				continue
			}
		}
		dst = append(dst, s[start:i]...)
		dst = appendEscape(dst, r)
		i += n
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), nil
}

func appendEscape(dst []byte, r rune) []byte {
	dst = append(dst, '\\')
	switch r {
	case '"', '\\':
		return append(dst, byte(r))
	case '\b':
		return append(dst, 'b')
	case '\f':
		return append(dst, 'f')
	case '\n':
		return append(dst, 'n')
	case '\r':
		return append(dst, 'r')
	case '\t':
		return append(dst, 't')
	}
	dst = append(dst, 'u')
	dst = append(dst, "0000"[1+(bits.Len32(uint32(r))-1)/4:]...)
	return strconv.AppendUint(dst, uint64(r), 16)
}

// Limits protojson puts on a Duration: about 10,000 years.
const (
	maxDurationSeconds = 315576000000
	maxDurationNanos   = 999999999
)

// appendDuration appends a google.protobuf.Duration in Go's form
// (orchpb.FormatDuration), or, beyond what a time.Duration holds (some 290
// years), in protojson's. Values protojson refuses are refused.
func appendDuration(dst []byte, m protoreflect.Message) ([]byte, error) {
	fields := m.Descriptor().Fields()
	secs, nanos := m.Get(fields.ByNumber(1)).Int(), m.Get(fields.ByNumber(2)).Int()
	switch {
	case secs < -maxDurationSeconds || secs > maxDurationSeconds:
		return nil, fmt.Errorf("%s: seconds out of range %v", durationName, secs)
	case nanos < -maxDurationNanos || nanos > maxDurationNanos:
		return nil, fmt.Errorf("%s: nanos out of range %v", durationName, nanos)
	case (secs > 0 && nanos < 0) || (secs < 0 && nanos > 0):
		return nil, fmt.Errorf("%s: signs of seconds and nanos do not match", durationName)
	}
	dst = append(dst, '"')
	if d, ok := toDuration(secs, nanos); ok {
		dst = appendGoDuration(dst, d)
	} else {
		dst = appendProtoDuration(dst, secs, nanos)
	}
	return append(dst, '"'), nil
}

// toDuration is secs and nanos (of one sign) as a time.Duration, if it
// holds them.
func toDuration(secs, nanos int64) (time.Duration, bool) {
	const maxSecs = int64(time.Duration(1<<63-1) / time.Second)  // 9223372036
	const maxNanos = int64(time.Duration(1<<63-1) % time.Second) // 854775807
	if secs > maxSecs || secs < -maxSecs || (secs == maxSecs && nanos > maxNanos) || (secs == -maxSecs && nanos < -maxNanos-1) {
		return 0, false
	}
	return time.Duration(secs)*time.Second + time.Duration(nanos), true
}
