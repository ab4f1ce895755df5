package agent

import (
	"testing"
	"time"
)

func TestRestartBackoffGrowsCapsAndResets(t *testing.T) {
	b := restartBackoff(100*time.Millisecond, time.Second)
	var got []time.Duration
	for range 6 {
		got = append(got, b.NextAfter(time.Millisecond))
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("delays = %v, want %v ms", got, want)
		}
	}
	if d := b.NextAfter(9 * time.Second); d != time.Second {
		t.Fatalf("after a 9s run the delay is %v, want it still capped at 1s", d)
	}
	if d := b.NextAfter(10 * time.Second); d != 100*time.Millisecond {
		t.Fatalf("after a 10s clean run the delay is %v, want it reset to 100ms", d)
	}
	if d := restartBackoff(0, 0).NextAfter(0); d != time.Second {
		t.Fatalf("without an initial delay: %v, want 1s", d)
	}
}
