package orchpb

import (
	"strings"
	"time"
)

// FormatDuration writes d as users write durations: Go's form without the
// zero units at its end ("2m", not "2m0s"; "1h", not "1h0m0s"), which
// time.ParseDuration reads back. The API and orchctl show stored durations
// this way, so a spec read back reads like the manifest it came from.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
