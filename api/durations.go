package api

import (
	"bytes"
	"strconv"
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
)

// The API writes a google.protobuf.Duration as users write durations in a
// manifest, "1m30s" or "500ms" (orchpb.FormatDuration), not as protojson
// does ("90s", "0.500s"), so that a spec read back reads like the manifest
// it came from and applies again unchanged. Unmarshal takes either form.

var durationName = (&durationpb.Duration{}).ProtoReflect().Descriptor().FullName()

func isDuration(md protoreflect.MessageDescriptor) bool { return md.FullName() == durationName }

// duration copies one duration value, converting its text from Go's form
// (or protojson's, which Go's syntax includes) to protojson's, the only
// one protojson reads. Text that does not read as a time.Duration (a
// protojson duration beyond 290 years, or a mistake) is copied as it is:
// protojson reads the one and refuses the other with its own words.
func (w *jsonRewriter) duration() error {
	if w.pos >= len(w.src) || w.src[w.pos] != '"' {
		return w.copyValue()
	}
	end, err := stringEnd(w.src, w.pos)
	if err != nil {
		return err
	}
	text := w.src[w.pos+1 : end-1]
	if bytes.IndexByte(text, '\\') >= 0 {
		return w.copyValue()
	}
	d, err := time.ParseDuration(string(text))
	if err != nil {
		return w.copyValue()
	}
	w.dst = append(w.dst, '"')
	w.dst = appendProtoDuration(w.dst, int64(d/time.Second), int64(d%time.Second))
	w.dst = append(w.dst, '"')
	w.pos = end
	return nil
}

// appendGoDuration appends orchpb.FormatDuration(d), without its
// allocation for the common case: whole seconds under a minute, which
// both forms write alike ("10s").
func appendGoDuration(dst []byte, d time.Duration) []byte {
	if d >= 0 && d < time.Minute && d%time.Second == 0 {
		return append(strconv.AppendInt(dst, int64(d/time.Second), 10), 's')
	}
	return append(dst, orchpb.FormatDuration(d)...)
}

// appendProtoDuration appends secs and nanos (of one sign) as protojson
// writes a Duration: seconds, then 0, 3, 6 or 9 fractional digits, and "s".
func appendProtoDuration(dst []byte, secs, nanos int64) []byte {
	us, un := uint64(secs), uint64(nanos)
	if secs < 0 || nanos < 0 {
		dst = append(dst, '-')
		us, un = -us, -un // two's complement: right for the most negative too
	}
	dst = strconv.AppendUint(dst, us, 10)
	if un == 0 {
		return append(dst, 's')
	}
	var digits [9]byte
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = byte('0' + un%10)
		un /= 10
	}
	frac := digits[:]
	for len(frac) > 3 && string(frac[len(frac)-3:]) == "000" {
		frac = frac[:len(frac)-3]
	}
	dst = append(append(dst, '.'), frac...)
	return append(dst, 's')
}
