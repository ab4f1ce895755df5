package store

import (
	"context"
	"fmt"
	"time"

	"github.com/orch-io/orch/internal/backoff"
)

// WaitIndex waits until the store has applied index or ctx ends: the
// second half of a linearizable read (after the leader named the index),
// of a new leader's start, and of a status report naming the assignments
// its agent holds.
func (s *Store) WaitIndex(ctx context.Context, index uint64) error {
	if s.Index() >= index {
		return nil // the usual case, on every status report with news
	}
	// Polled: the index is usually reached within a millisecond, and a
	// slow one costs a poll every 20ms at most.
	bo := backoff.New(500*time.Microsecond, 20*time.Millisecond)
	for s.Index() < index {
		if err := bo.Wait(ctx); err != nil {
			return fmt.Errorf("store: waiting for index %d (at %d): %w", index, s.Index(), err)
		}
	}
	return nil
}
