package controllers

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/orch-io/orch/master/endpoint"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// Heartbeats tells when a node's agent was last heard. Heartbeats live in
// the leader's memory, never in Raft.
type Heartbeats interface {
	LastHeartbeat(nodeID string) (time.Time, bool)
}

// DefaultNodeTimeout is how long an agent may be silent before its node is
// down: three missed heartbeats of the agent's default 1s interval. The
// heartbeat is a byte up the agent's assignment stream on a clock of its
// own (or, to an older master, a status report sent by a goroutine that
// does nothing else: no container work, no disk), and the master records
// it on receipt, before any Raft write; so a node busy running containers,
// or a master busy committing, still beats on time, and only a dead or
// cut-off agent misses three in a row.
const DefaultNodeTimeout = 3 * time.Second

// NodeController marks silent nodes down and their replicas lost, and
// brings nodes back when their agents speak again; when most nodes are
// silent at once it marks none (massSilence).
type NodeController struct {
	store      *store.Store
	proposer   endpoint.Proposer
	heartbeats Heartbeats
	timeout    time.Duration
	now        func() time.Time
	log        *slog.Logger
	// holding: the last check found most nodes silent (massSilence).
	holding bool
	// seen holds when this leader first found each node in the store:
	// a node registered at a follower (or one whose first stream is still
	// opening) has not beaten here yet, and its grace starts there.
	seen map[string]time.Time
}

// NodeDeps are the node controller's dependencies.
type NodeDeps struct {
	Store      *store.Store
	Proposer   endpoint.Proposer
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
		d.Timeout = DefaultNodeTimeout
	}
	return &NodeController{store: d.Store, proposer: d.Proposer, heartbeats: d.Heartbeats, timeout: d.Timeout, now: d.Now, log: d.Logger.With("controller", "node")}
}

// Run checks deadlines until ctx ends. Every node gets a full timeout of
// grace from the moment this leader starts, or first finds it registered,
// so neither a leadership change nor a registration alone declares a node
// down.
func (c *NodeController) Run(ctx context.Context) error {
	since := c.now()
	c.seen = nil // of an earlier term
	// Checking often keeps detection close to the timeout itself.
	period := min(c.timeout/10, 250*time.Millisecond)
	if period < 50*time.Millisecond {
		period = 50 * time.Millisecond
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

// massSilenceMin is the fewest silent nodes that can hold the others up
// (massSilence). With fewer, their own failure is as likely as the
// master's, and a node shown down tells more.
const massSilenceMin = 3

// massSilenceShare is the share of the nodes silent at once past which
// none is marked down: Kubernetes' unhealthy-zone threshold (55%), past
// which its node lifecycle controller evicts slowly or not at all.
const massSilenceShare = 0.55

// massSilence reports whether so many nodes are silent past timeout at once
// (massSilenceMin or more, and massSilenceShare of them or more) that none
// should be marked down. Then this master is likelier the one cut off (its
// network, or its heartbeat intake stalled), or the masters too loaded to
// hear their agents, than most machines failing together; and marking them
// down would gain little, since few nodes are left to run their replicas,
// while it would move every replica they hold onto the few left, adding
// load to masters already behind (at 5,000 nodes, late heartbeats marked
// nodes down, whose replicas moved, which made more heartbeats late). A
// cluster that truly lost most of its machines waits for its operator
// (orchctl node remove).
func massSilence(silences []time.Duration, timeout time.Duration) (silent int, held bool) {
	for _, s := range silences {
		if s > timeout {
			silent++
		}
	}
	return silent, silent >= massSilenceMin && float64(silent) >= massSilenceShare*float64(len(silences))
}

// intakeLagQuantile picks, among the nodes' silences, the one that tells
// how late this master hears the fleet as a whole: three quarters of the
// nodes are at least that silent, which a few dead nodes cannot cause.
const intakeLagQuantile = 0.25

// intakeLag is how late this master hears most nodes, at most timeout, and
// 0 with fewer than massSilenceMin nodes. A node is down only when silent
// for timeout beyond it: a leader whose intake falls behind (a busy
// machine, a heartbeat relay late) hears every node late at once, and
// marking the ones a little later than the rest down would lose their
// replicas and add load to a master already behind. A dead node still
// stands out: its silence grows, the fleet's does not.
func intakeLag(silences []time.Duration, timeout time.Duration) time.Duration {
	if len(silences) < massSilenceMin {
		return 0
	}
	sorted := slices.Clone(silences)
	slices.Sort(sorted)
	return min(sorted[int(float64(len(sorted)-1)*intakeLagQuantile)], timeout)
}

func (c *NodeController) check(ctx context.Context, since time.Time) error {
	nodes := c.store.Nodes()
	c.noteNew(nodes, since)
	silentFor := func(n *orchpb.Node) time.Duration {
		last, ok := c.heartbeats.LastHeartbeat(n.GetId())
		grace := since
		if t := c.seen[n.GetId()]; t.After(grace) {
			grace = t
		}
		if !ok || last.Before(grace) {
			last = grace
		}
		return c.now().Sub(last)
	}
	silences := make([]time.Duration, len(nodes))
	for i, n := range nodes {
		silences[i] = silentFor(n)
	}
	if silent, held := massSilence(silences, c.timeout); held {
		if !c.holding {
			c.log.Warn("most nodes are silent at once: none is marked down, this master is likelier cut off or behind than most machines down",
				"silent", silent, "nodes", len(nodes))
			c.holding = true
		}
		nodesHeld.Set(float64(silent))
		return nil
	}
	c.holding = false
	nodesHeld.Set(0)
	lag := intakeLag(silences, c.timeout)
	heartbeatIntakeLag.Set(lag.Seconds())
	for i, n := range nodes {
		silent := silences[i]
		if silent-lag > c.timeout && n.Status() != orchpb.NodeDown {
			// Each write takes a Raft round: a check that marks many
			// nodes down runs for a while, and a node may have spoken
			// since the check began (at 5,000 nodes one check marked
			// nodes down for two minutes on silences read at its start).
			silent = silentFor(n)
		}
		switch {
		case silent-lag > c.timeout && n.Status() != orchpb.NodeDown:
			reason := fmt.Sprintf("no heartbeat for %s", silent.Round(100*time.Millisecond))
			if lag >= 100*time.Millisecond {
				reason += fmt.Sprintf(" (most nodes are heard %s late)", lag.Round(100*time.Millisecond))
			}
			c.log.Warn("node down", "node", n.GetName(), "reason", reason)
			// One command marks the node down and its replicas lost, so the
			// service controller replaces them on the very next pass.
			if err := c.setState(ctx, n, orchpb.NodeDown, reason); err != nil {
				return err
			}
		case silent <= c.timeout && n.Status() == orchpb.NodeDown:
			c.log.Info("node back", "node", n.GetName())
			if err := c.setState(ctx, n, orchpb.NodeReady, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// noteNew records when this leader first found each of nodes: since for
// those it had when it began to lead, now for those registered later. At
// 5,000 nodes, nodes registered through a follower were marked down
// within a second, silent "for a minute" counted from the leader's start,
// before their first heartbeat could arrive.
func (c *NodeController) noteNew(nodes []*orchpb.Node, since time.Time) {
	now := c.now()
	if c.seen == nil { // the first check of this term
		c.seen = make(map[string]time.Time, len(nodes))
		now = since
	}
	for _, n := range nodes {
		if _, ok := c.seen[n.GetId()]; !ok {
			c.seen[n.GetId()] = now
		}
	}
	forgetGone(c.seen, nodes, nil)
}

func (c *NodeController) setState(ctx context.Context, n *orchpb.Node, state orchpb.NodeState, reason string) error {
	cmd := &orchpb.Command{Op: &orchpb.Command_SetNodeState{SetNodeState: &orchpb.SetNodeState{
		NodeId: n.GetId(), State: string(state), Availability: true, Reason: reason}}}
	if _, err := c.proposer.Apply(ctx, cmd); err != nil {
		return fmt.Errorf("controllers: set node %s %s: %w", n.GetName(), state, err)
	}
	return nil
}
