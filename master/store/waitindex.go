package store

import (
	"context"
	"fmt"
)

// WaitIndex waits until the store has applied index or ctx ends: the
// second half of a linearizable read (after the leader named the index),
// of a new leader's start, and of a status report naming the assignments
// its agent holds. It wakes on the store's own change notification (every
// Apply and Restore sends one), so a read waits for the entry it needs and
// not for a poll after it.
func (s *Store) WaitIndex(ctx context.Context, index uint64) error {
	if s.Index() >= index {
		return nil // the usual case, on every status report with news
	}
	changed, cancel := s.Notify()
	defer cancel()
	// Checked after subscribing: an Apply in between is not missed.
	for s.Index() < index {
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("store: waiting for index %d (at %d): %w", index, s.Index(), ctx.Err())
		}
	}
	return nil
}
