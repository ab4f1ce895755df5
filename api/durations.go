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

// duration copies one duration value, converting its text: from
// protojson's form to Go's on the way out, from Go's (or protojson's,
// which Go's syntax includes) to protojson's on the way in. Text neither
// reads as a time.Duration (a protojson duration beyond 290 years, or a
// mistake) is copied as it is: protojson reads the one and refuses the
// other with its own words.
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
	if !w.in {
		if d, ok := parseProtoDuration(text); ok {
			w.dst = appendGoDuration(append(w.dst, '"'), d)
			w.dst = append(w.dst, '"')
			w.pos = end
			return nil
		}
	}
	d, err := time.ParseDuration(string(text))
	if err != nil {
		return w.copyValue()
	}
	w.dst = append(w.dst, '"')
	if w.in {
		w.dst = appendProtoDuration(w.dst, d)
	} else {
		w.dst = append(w.dst, orchpb.FormatDuration(d)...)
	}
	w.dst = append(w.dst, '"')
	w.pos = end
	return nil
}

// parseProtoDuration reads what protojson writes for a Duration that fits a
// time.Duration: [-]SECONDS[.FRACTION]s, the fraction of 3, 6 or 9 digits.
// It is time.ParseDuration for that form, without copying the text; ok is
// false for anything else, which ParseDuration then reads.
func parseProtoDuration(text []byte) (d time.Duration, ok bool) {
	if len(text) < 2 || text[len(text)-1] != 's' {
		return 0, false
	}
	text = text[:len(text)-1]
	neg := text[0] == '-'
	if neg {
		text = text[1:]
	}
	var secs, nanos int64
	i := 0
	for ; i < len(text) && text[i] >= '0' && text[i] <= '9'; i++ {
		if secs = secs*10 + int64(text[i]-'0'); secs > int64(time.Duration(1<<63-1)/time.Second)-1 {
			return 0, false
		}
	}
	if i == 0 {
		return 0, false
	}
	if i < len(text) {
		frac := text[i+1:]
		if text[i] != '.' || len(frac) == 0 || len(frac) > 9 {
			return 0, false
		}
		for j := range 9 {
			nanos *= 10
			if j < len(frac) {
				if frac[j] < '0' || frac[j] > '9' {
					return 0, false
				}
				nanos += int64(frac[j] - '0')
			}
		}
	}
	d = time.Duration(secs)*time.Second + time.Duration(nanos)
	if neg {
		d = -d
	}
	return d, true
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

// appendProtoDuration appends d in protojson's form: seconds, with up to
// nine fractional digits, and "s".
func appendProtoDuration(dst []byte, d time.Duration) []byte {
	u := uint64(d)
	if d < 0 {
		dst = append(dst, '-')
		u = -u // two's complement: right for math.MinInt64 too
	}
	dst = strconv.AppendUint(dst, u/uint64(time.Second), 10)
	if frac := u % uint64(time.Second); frac != 0 {
		var digits [9]byte
		for i := len(digits) - 1; i >= 0; i-- {
			digits[i] = byte('0' + frac%10)
			frac /= 10
		}
		dst = append(dst, '.')
		dst = append(dst, bytes.TrimRight(digits[:], "0")...)
	}
	return append(dst, 's')
}
