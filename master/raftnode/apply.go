package raftnode

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// Apply proposes cmd, waits until it is committed and applied by this
// master's FSM, and returns the FSM's result. A command the FSM refused
// comes back as a result with ErrorCode set, not as an error.
//
// Errors: ErrNotLeader (nothing was proposed), ErrLeadershipLost (outcome
// unknown), ErrShutdown, or ctx's error; with ctx done the command may
// still be applied later.
func (n *Node) Apply(ctx context.Context, cmd *orchpb.Command) (*orchpb.CommandResult, error) {
	data, err := proto.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("raftnode: encode command: %w", err)
	}
	if err := n.checkLeader(); err != nil {
		return nil, err
	}
	timeout, err := timeoutOf(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	f := n.raft.Apply(data, timeout)
	if err := wait(ctx, f); err != nil {
		return nil, n.mapErr("apply", err, true)
	}
	n.metrics.commit.Observe(time.Since(start).Seconds())
	switch res := f.Response().(type) {
	case *orchpb.CommandResult:
		return res, nil
	case error:
		return nil, fmt.Errorf("raftnode: apply at index %d: %w", f.Index(), res)
	default:
		return nil, fmt.Errorf("raftnode: apply at index %d: FSM returned %T, want *orchpb.CommandResult", f.Index(), res)
	}
}

// VerifyLeader confirms with a quorum that this master still leads and
// returns the index a linearizable read must wait for: the last command
// committed when the read began (the Raft read-index protocol). Pass it to
// the store's WaitIndex; then read the store. Returns 0 when
// there is nothing to wait for.
func (n *Node) VerifyLeader(ctx context.Context) (uint64, error) {
	if err := n.checkLeader(); err != nil {
		return 0, err
	}
	if err := n.commitInTerm(ctx); err != nil {
		return 0, err
	}
	// The commit index must be taken before leadership is confirmed: any
	// write acknowledged before this read is at or below it.
	commit := n.raft.CommitIndex()
	if err := wait(ctx, n.raft.VerifyLeader()); err != nil {
		return 0, n.mapErr("verify leadership", err, false)
	}
	return n.lastCommandAtOrBelow(commit)
}

// commitInTerm makes sure this leader has committed an entry of its own
// term. Until it has, its commit index may lag what earlier leaders
// acknowledged (a restarted leader starts from 0), so it cannot serve a
// read index. A barrier once per term settles it.
func (n *Node) commitInTerm(ctx context.Context) error {
	term := n.raft.CurrentTerm()
	if n.readyTerm.Load() == term {
		return nil
	}
	timeout, err := timeoutOf(ctx)
	if err != nil {
		return err
	}
	if err := wait(ctx, n.raft.Barrier(timeout)); err != nil {
		return n.mapErr("commit in new term", err, false)
	}
	// Only if the term did not move under the barrier was it committed by
	// this term's leadership.
	if n.raft.CurrentTerm() == term {
		n.readyTerm.Store(term)
	}
	return nil
}

// lastCommandAtOrBelow finds the newest command entry at or below index.
// The FSM's index only moves on commands, so waiting for a no-op (every new
// leader commits one) or a configuration entry would never end.
func (n *Node) lastCommandAtOrBelow(index uint64) (uint64, error) {
	for i := index; i > 0; i-- {
		var l raft.Log
		err := n.logs.GetLog(i, &l)
		if errors.Is(err, raft.ErrLogNotFound) {
			// Compacted into a snapshot, which this FSM already holds.
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("raftnode: read log %d: %w", i, err)
		}
		if l.Type == raft.LogCommand {
			return i, nil
		}
	}
	return 0, nil
}

// timeoutOf turns ctx's deadline into raft's enqueue timeout (0 = none).
func timeoutOf(ctx context.Context) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return 0, nil
	}
	d := time.Until(dl)
	if d <= 0 {
		return 0, context.DeadlineExceeded
	}
	return d, nil
}

// wait waits for a raft future without outliving ctx.
func wait(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (n *Node) checkLeader() error {
	switch n.raft.State() {
	case raft.Leader:
		return nil
	case raft.Shutdown:
		return ErrShutdown
	}
	return n.notLeader()
}

func (n *Node) notLeader() error {
	if id, addr := n.Leader(); id != "" {
		return fmt.Errorf("%w (leader is %s at %s)", ErrNotLeader, id, addr)
	}
	return fmt.Errorf("%w (no leader known)", ErrNotLeader)
}

// mapErr turns raft's errors into this package's. proposed says whether
// the operation wrote to the log, so that losing leadership midway leaves
// its outcome unknown rather than simply refused.
func (n *Node) mapErr(op string, err error, proposed bool) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		// Refused before anything was proposed: safe to send elsewhere.
		return n.notLeader()
	case errors.Is(err, raft.ErrLeadershipLost):
		if !proposed {
			return n.notLeader()
		}
		return fmt.Errorf("raftnode: %s: %w", op, ErrLeadershipLost)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("raftnode: %s: %w", op, ErrShutdown)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("raftnode: %s: %w: %w", op, context.DeadlineExceeded, err)
	}
	return fmt.Errorf("raftnode: %s: %w", op, err)
}
