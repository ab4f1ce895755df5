package agent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	orchpb "github.com/orch-io/orch/proto"

	"github.com/orch-io/orch/internal/backoff"
)

// restartBackoff is a replica's restart policy: the delay doubles from the
// spec's initial to its max, and starts over once the replica has run for
// the longer of 10s and max, since a crash after that is a new failure,
// not the same one again.
func restartBackoff(initial, maxDelay time.Duration) *backoff.Backoff {
	if initial <= 0 {
		// A zero delay would restart a crashing replica in a tight loop.
		initial = orchpb.DefaultBackoffInitial
	}
	return backoff.New(initial, maxDelay, backoff.WithResetAfter(max(10*time.Second, maxDelay)))
}

// retry calls fn until it succeeds or ctx ends, backing off from 200ms up
// to 5s and logging each failure as about what.
func retry[T any](ctx context.Context, log *slog.Logger, what string, fn func() (T, error)) (T, error) {
	v, err := backoff.Retry(ctx, backoff.New(200*time.Millisecond, 5*time.Second), fn, func(attempt int, delay time.Duration, err error) {
		log.Warn("retrying", "what", what, "attempt", attempt, "in", delay, "err", err)
	})
	if err != nil {
		return v, fmt.Errorf("agent: %s: %w", what, err)
	}
	return v, nil
}
