package backoff

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

const ms = time.Millisecond

func delays(b *Backoff, n int) []time.Duration {
	var out []time.Duration
	for range n {
		out = append(out, b.Next())
	}
	return out
}

func TestDelaysDoubleUpToTheCap(t *testing.T) {
	b := New(100*ms, time.Second)
	want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}
	if got := delays(b, 6); !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	b.Reset()
	if got := b.Next(); got != 100*ms {
		t.Fatalf("after Reset: %v, want 100ms", got)
	}
	if got := delays(New(time.Second, time.Millisecond), 2); !slices.Equal(got, []time.Duration{time.Second, time.Second}) {
		t.Fatalf("a cap below the first delay: %v, want the first delay throughout", got)
	}
}

func TestNextAfterResetsAfterALongAttempt(t *testing.T) {
	b := New(10*ms, 80*ms, WithResetAfter(time.Second))
	got := []time.Duration{
		b.NextAfter(0), b.NextAfter(999 * ms), b.NextAfter(5 * ms),
		b.NextAfter(time.Second), // lasted: start over
		b.NextAfter(0),
	}
	want := []time.Duration{10 * ms, 20 * ms, 40 * ms, 10 * ms, 20 * ms}
	if !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	// Without WithResetAfter no run is long enough.
	plain := New(10*ms, 80*ms)
	plain.Next()
	if d := plain.NextAfter(time.Hour); d != 20*ms {
		t.Fatalf("without a reset rule: %v, want 20ms", d)
	}
}

func TestJitterAddsUpToTheDelay(t *testing.T) {
	b := New(100*ms, 400*ms, WithJitter())
	var asked []int64
	b.random = func(n int64) int64 { asked = append(asked, n); return n - 1 }
	got := delays(b, 4)
	want := []time.Duration{200*ms - 1, 400*ms - 1, 800*ms - 1, 800*ms - 1}
	if !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	if wantAsked := []int64{int64(100 * ms), int64(200 * ms), int64(400 * ms), int64(400 * ms)}; !slices.Equal(asked, wantAsked) {
		t.Fatalf("jitter drawn below %v, want %v", asked, wantAsked)
	}
}

// fakeClock fires every timer at once, or never when hold is set, and
// records what was asked of it.
type fakeClock struct {
	hold    bool
	waited  []time.Duration
	started int
	stopped int
}

func (c *fakeClock) timer(d time.Duration) (<-chan time.Time, func() bool) {
	c.waited = append(c.waited, d)
	c.started++
	ch := make(chan time.Time, 1)
	if !c.hold {
		ch <- time.Time{}
	}
	return ch, func() bool { c.stopped++; return true }
}

func TestRetryWaitsTheDelaysBetweenFailures(t *testing.T) {
	clock := &fakeClock{}
	b := New(10*ms, 25*ms)
	b.timer = clock.timer
	type note struct {
		attempt int
		delay   time.Duration
		err     string
	}
	var notes []note
	calls := 0
	v, err := Retry(context.Background(), b, func() (string, error) {
		calls++
		if calls < 4 {
			return "", errors.New("down")
		}
		return "up", nil
	}, func(attempt int, delay time.Duration, err error) {
		notes = append(notes, note{attempt, delay, err.Error()})
	})
	if v != "up" || err != nil {
		t.Fatalf("Retry = %q, %v", v, err)
	}
	want := []note{{1, 10 * ms, "down"}, {2, 20 * ms, "down"}, {3, 25 * ms, "down"}}
	if !slices.Equal(notes, want) {
		t.Fatalf("notified %v, want %v", notes, want)
	}
	if !slices.Equal(clock.waited, []time.Duration{10 * ms, 20 * ms, 25 * ms}) {
		t.Fatalf("waited %v", clock.waited)
	}
	if clock.stopped != clock.started {
		t.Fatalf("%d timers started, %d stopped", clock.started, clock.stopped)
	}
}

func TestRetryEndsWithItsContext(t *testing.T) {
	clock := &fakeClock{hold: true}
	b := New(time.Hour, time.Hour)
	b.timer = clock.timer
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := Retry(ctx, b, func() (int, error) {
		calls++
		cancel() // the context ends while the first wait is pending
		return 0, errors.New("refused")
	}, nil)
	if !errors.Is(err, context.Canceled) || err.Error() != "context canceled (last error: refused)" {
		t.Fatalf("err = %v", err)
	}
	if calls != 1 || clock.started != 1 || clock.stopped != 1 {
		t.Fatalf("%d calls, %d timers started, %d stopped; want 1 each", calls, clock.started, clock.stopped)
	}
}

func TestWaitEndsWithItsContext(t *testing.T) {
	clock := &fakeClock{hold: true}
	b := New(time.Hour, time.Hour)
	b.timer = clock.timer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	if clock.stopped != 1 {
		t.Fatalf("timer not stopped")
	}
}

// TestSleepWithTheRealClock: the default timer fires (a zero delay, so no
// timing is assumed).
func TestSleepWithTheRealClock(t *testing.T) {
	if err := New(0, 0).Sleep(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}
