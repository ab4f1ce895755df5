// Package backoff is the one retry policy of orch's loops: the agent's
// container restarts, its master streams and registration, the masters'
// wait for an applied index, and the CLI's watch reconnects all wait by it.
// A delay starts at an initial value and doubles after each failure up to
// a cap; it starts over after a success (Reset), or after an attempt that
// lasted long enough to count as one (WithResetAfter).
//
// It owns no goroutines and holds no state beyond the next delay: Sleep,
// Wait and Retry block the caller's goroutine, stop their timer before
// returning, and return as soon as the caller's context ends. It must not
// log, nor decide which errors are worth retrying: callers do both.
package backoff

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Backoff yields the delays of one retry loop. It is not safe for
// concurrent use: each loop keeps its own.
type Backoff struct {
	initial, max time.Duration
	resetAfter   time.Duration
	jitter       bool
	next         time.Duration // 0: the next delay is initial

	// timer and random replace the real clock and randomness in tests.
	timer  func(d time.Duration) (c <-chan time.Time, stop func() bool)
	random func(n int64) int64
}

// Option changes a Backoff's defaults.
type Option func(*Backoff)

// WithResetAfter starts the delays over when an attempt ran for at least d
// (see NextAfter): a container that ran a while, or a stream that stayed
// up, failed afresh rather than again.
func WithResetAfter(d time.Duration) Option {
	return func(b *Backoff) { b.resetAfter = d }
}

// WithJitter adds to each delay a random extra of up to the delay itself,
// so that many clients broken by one event do not retry in step. The
// doubling sequence underneath is unchanged.
func WithJitter() Option {
	return func(b *Backoff) { b.jitter = true }
}

// New makes a Backoff whose first delay is initial, doubling up to maxDelay
// (one below initial is taken as initial). Without options it never resets
// by itself and has no jitter.
func New(initial, maxDelay time.Duration, opts ...Option) *Backoff {
	b := &Backoff{initial: initial, max: maxDelay}
	if b.max < b.initial {
		b.max = b.initial
	}
	for _, o := range opts {
		o(b)
	}
	return b
}

// Next returns the delay before the next attempt: initial first, then twice
// the previous delay, never more than max (plus jitter, when asked for).
func (b *Backoff) Next() time.Duration {
	if b.next == 0 {
		b.next = b.initial
	} else {
		b.next = min(b.next*2, b.max)
	}
	if b.jitter && b.next > 0 {
		return b.next + time.Duration(b.rand(int64(b.next)))
	}
	return b.next
}

// NextAfter is Next for an attempt that ran for ran: with WithResetAfter,
// an attempt that lasted starts the delays over first.
func (b *Backoff) NextAfter(ran time.Duration) time.Duration {
	if b.resetAfter > 0 && ran >= b.resetAfter {
		b.Reset()
	}
	return b.Next()
}

// Reset starts the delays over: the next one is initial again.
func (b *Backoff) Reset() { b.next = 0 }

// Sleep waits d, or until ctx ends: then it returns ctx's error.
func (b *Backoff) Sleep(ctx context.Context, d time.Duration) error {
	c, stop := b.newTimer(d)
	defer stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c:
		return nil
	}
}

// Wait sleeps for the next delay (Sleep(ctx, Next())).
func (b *Backoff) Wait(ctx context.Context) error {
	return b.Sleep(ctx, b.Next())
}

// Retry calls fn until it succeeds or ctx ends, waiting the next delay of b
// after each failure. Before each wait it calls notify, when not nil, with
// the attempt that failed (from 1), the delay and fn's error. When ctx ends
// it returns an error wrapping ctx's and naming fn's last error.
func Retry[T any](ctx context.Context, b *Backoff, fn func() (T, error), notify func(attempt int, delay time.Duration, err error)) (T, error) {
	for attempt := 1; ; attempt++ {
		v, err := fn()
		if err == nil {
			return v, nil
		}
		delay := b.Next()
		if notify != nil {
			notify(attempt, delay, err)
		}
		if cerr := b.Sleep(ctx, delay); cerr != nil {
			var zero T
			return zero, fmt.Errorf("%w (last error: %v)", cerr, err)
		}
	}
}

func (b *Backoff) newTimer(d time.Duration) (<-chan time.Time, func() bool) {
	if b.timer != nil {
		return b.timer(d)
	}
	t := time.NewTimer(d)
	return t.C, t.Stop
}

func (b *Backoff) rand(n int64) int64 {
	if b.random != nil {
		return b.random(n)
	}
	return rand.Int64N(n)
}
