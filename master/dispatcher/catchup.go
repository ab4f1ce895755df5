package dispatcher

import (
	"context"
	"fmt"
	"time"
)

// catchUpLimit bounds how long a status report waits for this master to
// apply the assignments its agent already holds.
const catchUpLimit = 2 * time.Second

// catchUp waits until this master's state reaches index: the Raft index of
// the newest assignment set the reporting agent holds. The set may come
// from another master (a follower streams it; the leader takes the
// report), and the leader applies what is committed no sooner than its
// followers: judged before, the status of a replica it has not applied
// yet looked like one of a replica that is gone, was dropped, and
// acknowledged, so the replica stayed "assigned" until the agent's next
// full report (at 2,000 nodes, 51 replicas for ten minutes). Past
// catchUpLimit the agent is told to try again.
func (d *Dispatcher) catchUp(ctx context.Context, index uint64) error {
	if index == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, catchUpLimit)
	defer cancel()
	if err := d.deps.Store.WaitIndex(ctx, index); err != nil {
		return fmt.Errorf("this master is behind the assignments the node holds: try again: %w", err)
	}
	return nil
}
