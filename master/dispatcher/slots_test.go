package dispatcher

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestComputeSlotsBoundTheStreamsComputing: however many streams wake at
// once, no more than the slots compute together, every one of them gets
// its turn, and one whose agent left while it waited gives up its turn.
func TestComputeSlotsBoundTheStreamsComputing(t *testing.T) {
	slots := make(computeSlots, 3)
	var running, most, done atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots.do(context.Background(), func() {
				n := running.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(time.Millisecond)
				running.Add(-1)
				done.Add(1)
			})
		}()
	}
	wg.Wait()
	if most.Load() > 3 || done.Load() != 50 {
		t.Errorf("at most %d computed at once (want ≤ 3), %d of 50 done", most.Load(), done.Load())
	}
	for range cap(slots) {
		slots <- struct{}{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if slots.do(ctx, func() { t.Error("ran without a slot") }) {
		t.Error("a stream whose agent left took a slot")
	}
}
