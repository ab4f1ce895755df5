package manifest

import (
	"encoding/json"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
)

// durationName is the message type of every duration field of a spec.
var durationName = (&durationpb.Duration{}).ProtoReflect().Descriptor().FullName()

// duration is a duration field's value once checkSchema has parsed it: the
// text the user wrote ("500ms", "1m30s") is read here, once, and stored
// typed.
type duration time.Duration

// checkDuration parses a duration field's text in Go's syntax. A number is
// refused with the same words as bad text: "10" is the likeliest mistake
// (seconds meant, a unit forgotten).
func checkDuration(errs *errorList, at location, v any) any {
	var text string
	switch v := v.(type) {
	case string:
		text = v
	case json.Number:
		text = v.String()
	default:
		errs.add(at.String(), "must be a duration (like 500ms, 1s, 2m)")
		return nil
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		errs.add(at.String(), "%q is not a duration (like 500ms, 1s, 2m)", text)
		return nil
	}
	return duration(d)
}

// appendDuration appends d as a google.protobuf.Duration message, field num.
func appendDuration(b []byte, num protoreflect.FieldNumber, d duration) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	secs, nanos := int64(time.Duration(d)/time.Second), int64(time.Duration(d)%time.Second)
	var msg [22]byte // two one-byte tags, two varints of at most 10 bytes
	m := msg[:0]
	if secs != 0 {
		m = protowire.AppendTag(m, 1, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(secs))
	}
	if nanos != 0 {
		// int32 on the wire: a negative one is written sign-extended.
		m = protowire.AppendTag(m, 2, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(nanos))
	}
	b = protowire.AppendVarint(b, uint64(len(m)))
	return append(b, m...)
}
