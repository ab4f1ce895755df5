package store

import (
	"context"
	"errors"
	"testing"
	"time"

	orchpb "github.com/orch-io/orch/proto"
)

// recv reads one event or fails after a generous deadline.
func recv(t *testing.T, ch <-chan Event) (Event, bool) {
	t.Helper()
	select {
	case e, ok := <-ch:
		return e, ok
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
		return Event{}, false
	}
}

func TestWatchFromIndex(t *testing.T) {
	s := New()
	for _, name := range []string{"a", "b", "c", "d"} {
		mustApply(t, s, putService("default", name, 1, name)) // indexes 1..4
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.Watch(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	// History first, then live events, in index order.
	mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_DeleteService{DeleteService: &orchpb.DeleteService{Namespace: "default", Name: "a"}}})
	want := []struct {
		index     uint64
		typ, name string
	}{{3, EventPut, "c"}, {4, EventPut, "d"}, {5, EventDelete, "a"}}
	for _, w := range want {
		e, ok := recv(t, ch)
		if !ok {
			t.Fatal("watch closed early")
		}
		name := e.Object.(*orchpb.Service).GetSpec().GetName()
		if e.Index != w.index || e.Type != w.typ || e.Kind != KindService || name != w.name {
			t.Fatalf("got %d %s %s %s, want %d %s service %s", e.Index, e.Type, e.Kind, name, w.index, w.typ, w.name)
		}
	}
	// The object is the stored one, not a copy.
	mustApply(t, s, putService("default", "e", 1, "e"))
	if e, _ := recv(t, ch); e.Object != s.Service("default", "e") {
		t.Fatalf("event object is not the stored object")
	}
	cancel()
	for range ch { // must close once ctx is done
	}
}

func TestWatchFutureIndex(t *testing.T) {
	s := New()
	mustApply(t, s, putService("default", "a", 1, "a"))
	ch, err := s.Watch(t.Context(), 3)
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, putService("default", "b", 1, "b")) // 2: not after 3
	mustApply(t, s, putService("default", "c", 1, "c")) // 3: not after 3
	mustApply(t, s, putService("default", "d", 1, "d")) // 4
	if e, _ := recv(t, ch); e.Index != 4 {
		t.Fatalf("first event at %d, want 4", e.Index)
	}
}

func TestWatchCompacted(t *testing.T) {
	s := New(WithWatchRing(4))
	mustApply(t, s, registerNode("n1", "one", 0, 0))        // 1: 1 event
	mustApply(t, s, putService("default", "web", 3, "web")) // 2: 1 event
	mustApply(t, s, putReplicas(                            // 3: 3 events
		replica("r1", "default", "web", 1, "n1", 0, 0),
		replica("r2", "default", "web", 2, "n1", 0, 0),
		replica("r3", "default", "web", 3, "n1", 0, 0)))
	mustApply(t, s, putService("default", "x", 1, "x")) // 4: 1 event
	// The ring holds index 3's three events and index 4's: 3 is whole.
	if _, err := s.Watch(t.Context(), 2); err != nil {
		t.Fatalf("Watch(2) with index 3 whole in the ring: %v", err)
	}
	mustApply(t, s, putService("default", "y", 1, "y")) // 5: 1 event
	// One of index 3's events is gone now, so only watches from 3 on can
	// resume.
	for from, wantErr := range map[uint64]bool{0: true, 1: true, 2: true, 3: false, 4: false, 5: false} {
		_, err := s.Watch(t.Context(), from)
		if got := errors.Is(err, ErrCompacted); got != wantErr {
			t.Errorf("Watch(%d) error = %v, want compacted %v", from, err, wantErr)
		}
	}
	ch, err := s.Watch(t.Context(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := recv(t, ch); e.Index != 4 {
		t.Fatalf("Watch(3) first event at %d, want 4", e.Index)
	}
}

func TestWatchSlowWatcherIsClosed(t *testing.T) {
	s := New(WithWatchRing(8))
	ch, err := s.Watch(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		mustApply(t, s, putService("default", "svc", int32(i), "x"))
	}
	// A watcher that did not read while 500 events went through an 8-event
	// ring must be told to re-list: its channel closes after what it had
	// buffered, and never skips silently.
	var last uint64
	for {
		e, ok := recv(t, ch)
		if !ok {
			break
		}
		if e.Index != last+1 {
			t.Fatalf("event %d after %d: a gap instead of a close", e.Index, last)
		}
		last = e.Index
	}
	if last >= 500 {
		t.Fatalf("slow watcher got every event (%d); expected it to be cut off", last)
	}
}

func TestWatchClosedOnRestore(t *testing.T) {
	s := New()
	mustApply(t, s, putService("default", "a", 1, "a"))
	ch, err := s.Watch(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	other := New()
	for i := 0; i < 10; i++ {
		mustApply(t, other, putService("default", "b", int32(i), "b"))
	}
	s.Restore(other.Snapshot())
	if _, ok := recv(t, ch); ok {
		t.Fatal("watch survived a restore")
	}
	// The ring restarts at the snapshot's index.
	if _, err := s.Watch(t.Context(), 9); !errors.Is(err, ErrCompacted) {
		t.Fatalf("Watch(9) after restore at 10: %v, want ErrCompacted", err)
	}
	ch, err = s.Watch(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, putService("default", "c", 1, "c"))
	if e, _ := recv(t, ch); e.Index != 11 {
		t.Fatalf("event at %d, want 11", e.Index)
	}
}

func TestNotifyCoalesces(t *testing.T) {
	s := New()
	ch, cancel := s.Notify()
	for i := 0; i < 5; i++ {
		mustApply(t, s, putService("default", "a", int32(i), "a"))
	}
	if len(ch) != 1 {
		t.Fatalf("pending signals = %d, want 1 (coalesced)", len(ch))
	}
	<-ch
	select {
	case <-ch:
		t.Fatal("a second signal for the same burst")
	default:
	}
	s.Apply(s.Index()+1, nil) // even a refused command is a change of index
	if len(ch) != 1 {
		t.Fatal("no signal after a further apply")
	}
	<-ch
	cancel()
	cancel() // idempotent
	mustApply(t, s, putService("default", "b", 1, "b"))
	if len(ch) != 0 {
		t.Fatal("signal after cancel")
	}
}
