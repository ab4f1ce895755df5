package auth

import (
	"context"
	"sync"
)

// catchUps shares read barriers between the requests that need one. A
// request with an unknown token must wait for a barrier that began after it
// arrived (one already running may predate the token's commit), so it waits
// out the one in flight, then shares the next with every request that
// arrived meanwhile. A burst of unknown tokens, an attacker's included,
// costs at most two barriers at a time instead of one each.
type catchUps struct {
	barrier func(ctx context.Context) error

	mu      sync.Mutex
	running bool
	next    *catchUpRound // starts when the running round ends
	// queued counts the requests waiting for next (tests wait on it).
	queued int
}

type catchUpRound struct {
	done chan struct{}
	err  error
}

// wait returns once a barrier that began after the call has ended.
func (c *catchUps) wait() error {
	c.mu.Lock()
	if !c.running {
		c.running = true
		c.mu.Unlock()
		r := &catchUpRound{done: make(chan struct{})}
		c.run(r)
		return r.err
	}
	if c.next == nil {
		c.next = &catchUpRound{done: make(chan struct{})}
	}
	r := c.next
	c.queued++
	c.mu.Unlock()
	<-r.done
	return r.err
}

// run runs round r, then every round that queued behind it.
func (c *catchUps) run(r *catchUpRound) {
	for r != nil {
		ctx, cancel := context.WithTimeout(context.Background(), catchUpTimeout)
		r.err = c.barrier(ctx)
		cancel()
		c.mu.Lock()
		next := c.next
		c.next, c.queued = nil, 0
		c.running = next != nil
		c.mu.Unlock()
		close(r.done)
		r = next
	}
}
