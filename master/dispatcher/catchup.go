package dispatcher

import (
	"context"
	"fmt"
	"time"

	"github.com/orch-io/orch/internal/backoff"
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
	if index == 0 || d.deps.Store.Index() >= index {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, catchUpLimit)
	defer cancel()
	bo := backoff.New(time.Millisecond, 50*time.Millisecond)
	for d.deps.Store.Index() < index {
		if bo.Wait(ctx) != nil {
			return fmt.Errorf("this master has applied index %d, behind the assignments the node holds (index %d): try again", d.deps.Store.Index(), index)
		}
	}
	return nil
}
