package orchpb

import (
	"testing"
	"time"
)

func TestFormatDurationReadsBack(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                 "0s",
		500 * time.Millisecond:            "500ms",
		time.Second:                       "1s",
		10 * time.Second:                  "10s",
		time.Minute:                       "1m",
		2 * time.Minute:                   "2m",
		90 * time.Second:                  "1m30s",
		time.Hour:                         "1h",
		time.Hour + 30*time.Minute:        "1h30m",
		time.Hour + 30*time.Second:        "1h0m30s",
		1500 * time.Millisecond:           "1.5s",
		-2 * time.Minute:                  "-2m",
		time.Nanosecond:                   "1ns",
		time.Duration(1<<63 - 1):          "2562047h47m16.854775807s",
		10*time.Minute + time.Millisecond: "10m0.001s",
	} {
		got := FormatDuration(d)
		if got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", int64(d), got, want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != d {
			t.Errorf("time.ParseDuration(%q) = %v, %v; want %v", got, back, err, d)
		}
	}
}
