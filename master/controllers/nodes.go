package controllers

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// Heartbeats tells when a node's agent was last heard. Heartbeats live in
// the leader's memory, never in Raft.
type Heartbeats interface {
	LastHeartbeat(nodeID string) (time.Time, bool)
}

// NodeController marks silent nodes down and their replicas lost, and
// brings nodes back when their agents speak again.
type NodeController struct {
	store      *store.Store
	proposer   Proposer
	heartbeats Heartbeats
	timeout    time.Duration
	now        func() time.Time
	log        *slog.Logger
}

// NodeDeps are the node controller's dependencies.
type NodeDeps struct {
	Store      *store.Store
	Proposer   Proposer
	Heartbeats Heartbeats
	// Timeout is how long an agent may be silent before its node is down.
	Timeout time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

// NewNodeController builds the controller.
func NewNodeController(d NodeDeps) *NodeController {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Timeout <= 0 {
		d.Timeout = 5 * time.Second
	}
	return &NodeController{store: d.Store, proposer: d.Proposer, heartbeats: d.Heartbeats, timeout: d.Timeout, now: d.Now, log: d.Logger.With("controller", "node")}
}

// Run checks deadlines until ctx ends. Every node gets a full timeout of
// grace from the moment this leader starts, so a leadership change alone
// never declares a node down.
func (c *NodeController) Run(ctx context.Context) error {
	since := c.now()
	period := c.timeout / 4
	if period < 100*time.Millisecond {
		period = 100 * time.Millisecond
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := c.check(ctx, since); err != nil && ctx.Err() == nil {
			c.log.Warn("node check failed", "err", err)
		}
	}
}

func (c *NodeController) check(ctx context.Context, since time.Time) error {
	now := c.now()
	for _, n := range c.store.Nodes() {
		last, ok := c.heartbeats.LastHeartbeat(n.GetId())
		if !ok || last.Before(since) {
			last = since
		}
		silent := now.Sub(last) > c.timeout
		switch {
		case silent && n.GetState() != orchpb.NodeDown:
			c.log.Warn("node down: no heartbeat", "node", n.GetName(), "silent_for", now.Sub(last).Round(time.Millisecond))
			if err := c.markDown(ctx, n); err != nil {
				return err
			}
		case !silent && n.GetState() == orchpb.NodeDown:
			c.log.Info("node back", "node", n.GetName())
			if err := c.setState(ctx, n, orchpb.NodeReady); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *NodeController) markDown(ctx context.Context, n *orchpb.Node) error {
	if err := c.setState(ctx, n, orchpb.NodeDown); err != nil {
		return err
	}
	var lost []*orchpb.Replica
	expected := map[string]uint64{}
	for _, rep := range c.store.Replicas(store.ReplicaFilter{Node: n.GetId()}) {
		if rep.Terminal() {
			continue
		}
		l := proto.Clone(rep).(*orchpb.Replica)
		l.State = orchpb.ReplicaLost
		l.Message = "node " + n.GetName() + " down"
		lost = append(lost, l)
		expected[rep.GetId()] = rep.GetVersion()
	}
	if len(lost) == 0 {
		return nil
	}
	cmd := &orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: lost, ExpectedVersions: expected}}}
	if _, err := c.proposer.Apply(ctx, cmd); err != nil {
		return fmt.Errorf("controllers: mark replicas of node %s lost: %w", n.GetName(), err)
	}
	return nil
}

func (c *NodeController) setState(ctx context.Context, n *orchpb.Node, state string) error {
	cmd := &orchpb.Command{Op: &orchpb.Command_SetNodeState{SetNodeState: &orchpb.SetNodeState{NodeId: n.GetId(), State: state}}}
	if _, err := c.proposer.Apply(ctx, cmd); err != nil {
		return fmt.Errorf("controllers: set node %s %s: %w", n.GetName(), state, err)
	}
	return nil
}
