package dispatcher

import (
	"context"
	"runtime"
)

// computeSlots bounds how many streams compute their next message at once.
// A placement changes most nodes' sets in one Raft entry and wakes every
// stream together: thousands of runnable goroutines, each with a few
// hundred microseconds of work, and whatever the network readies meanwhile
// (Raft's heartbeat answers among it) queues behind them all. At 2,000
// nodes a leader stepped down with both followers unheard for just over
// its 1 s lease, and a follower called an election. A stream waiting for a
// slot is not runnable: the queue stays short, and the work is the same.
type computeSlots chan struct{}

func newComputeSlots() computeSlots {
	return make(computeSlots, max(2, 2*runtime.GOMAXPROCS(0)))
}

// do runs f in a slot, once one is free; false if ctx ended first.
func (s computeSlots) do(ctx context.Context, f func()) bool {
	select {
	case s <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-s }()
	f()
	return true
}
