package raftnode

import (
	"log/slog"
	"sync"
)

// leadershipQueue drains raft's NotifyCh (raft blocks on it) into an
// unbounded, ordered queue for one consumer, so no transition is dropped
// or merged however slowly the consumer reads.
type leadershipQueue struct {
	out      chan bool
	done     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

func newLeadershipQueue(in <-chan bool, logger *slog.Logger) *leadershipQueue {
	q := &leadershipQueue{out: make(chan bool), done: make(chan struct{})}
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		defer close(q.out)
		var pending []bool
		for {
			var send chan bool
			var next bool
			if len(pending) > 0 {
				send, next = q.out, pending[0]
			}
			select {
			case v := <-in:
				if v {
					logger.Info("became leader")
				} else {
					logger.Info("lost leadership")
				}
				pending = append(pending, v)
			case send <- next:
				pending = pending[1:]
			case <-q.done:
				return
			}
		}
	}()
	return q
}

func (q *leadershipQueue) stop() {
	q.stopOnce.Do(func() { close(q.done) })
	q.wg.Wait()
}

// LeadershipChanges delivers true when this master becomes leader and
// false when it stops being leader, every transition in order (none is
// dropped or coalesced, so a true always follows a false). It is meant for
// exactly one owner (the component that starts and stops the leader-only
// controllers); every call returns the same channel, and it is closed by
// Shutdown. Leadership held before the owner starts reading is still
// delivered.
func (n *Node) LeadershipChanges() <-chan bool { return n.leadership.out }
