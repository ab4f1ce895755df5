package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	orchpb "github.com/orch-io/orch/proto"
)

// TestWaitIndexWakesOnApplyAndRestore: a wait returns once an Apply or a
// Restore reaches its index, at once when the store is there already, and
// with ctx's error (naming the index) when neither comes.
func TestWaitIndexWakesOnApplyAndRestore(t *testing.T) {
	s := New()
	mustApply(t, s, putService("default", "web", 1, "web:1"))
	if err := s.WaitIndex(context.Background(), s.Index()); err != nil {
		t.Fatalf("waiting for the index the store is at: %v", err)
	}
	wait := func(index uint64, reach func()) {
		t.Helper()
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done <- s.WaitIndex(ctx, index)
		}()
		time.Sleep(20 * time.Millisecond) // let it wait
		reach()
		if err := <-done; err != nil || s.Index() < index {
			t.Fatalf("waiting for %d: %v (store at %d)", index, err, s.Index())
		}
	}
	next := s.Index() + 1
	wait(next, func() { mustApply(t, s, putService("default", "api", 1, "api:1")) })
	wait(next+5, func() { s.Restore(&orchpb.StateSnapshot{Index: next + 5}) })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := s.WaitIndex(ctx, next+100)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "index") {
		t.Fatalf("a wait for an index never reached: %v, want the deadline, naming the index", err)
	}
}
