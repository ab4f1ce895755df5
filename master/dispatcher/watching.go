package dispatcher

import (
	"context"
	"sync"
	"time"

	"github.com/orch-io/orch/master/store"
)

// whileUsed runs one goroutine for as long as anybody uses it: the first
// acquire starts run, the last release stops it and waits for it to end.
// The store watches behind the agent streams cost nothing while no agent
// is connected.
type whileUsed struct {
	run func(ctx context.Context)

	mu   sync.Mutex
	refs int
	stop context.CancelFunc
	done chan struct{}
}

// acquire counts one more user and returns the function that ends its use;
// that function is safe to call more than once.
func (w *whileUsed) acquire() (release func()) {
	w.mu.Lock()
	w.refs++
	if w.refs == 1 {
		ctx, cancel := context.WithCancel(context.Background())
		prev, done := w.done, make(chan struct{})
		w.stop, w.done = cancel, done
		go func() {
			defer close(done)
			// A run the last release is still stopping ends first: two
			// must never overlap.
			if prev != nil {
				<-prev
			}
			w.run(ctx)
		}()
	}
	w.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			w.mu.Lock()
			w.refs--
			var stop context.CancelFunc
			var done chan struct{}
			if w.refs == 0 {
				stop, done = w.stop, w.done
			}
			w.mu.Unlock()
			if stop != nil {
				stop()
				<-done
			}
		})
	}
}

// followStore watches st from its current index until ctx ends. start runs
// as each watch begins, with the index it begins after (what happened
// before is the caller's to list); each runs for every event. A watch the
// store ends (the follower fell behind its ring, or a snapshot was
// restored) begins again.
func followStore(ctx context.Context, st *store.Store, start func(from uint64), each func(store.Event)) {
	for ctx.Err() == nil {
		from := st.Index()
		events, err := st.Watch(ctx, from)
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		start(from)
		for ev := range events {
			each(ev)
		}
	}
}
