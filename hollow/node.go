package hollow

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/orch-io/orch/agent"
	"github.com/orch-io/orch/internal/backoff"
	orchpb "github.com/orch-io/orch/proto"
)

// Node is one hollow node: it registers, follows its assignment stream and
// reports its replicas, exactly as an agent does, but its replicas are
// only entries in a map.
type Node struct {
	name    string
	labels  map[string]string
	cfg     Config
	channel func() *agent.Channel
	breaks  *streamBreaks

	mu sync.Mutex
	// ch is the node's channel, made at its first start; it keeps the
	// node's certificate for the next.
	ch       *agent.Channel
	id       string
	replicas map[string]*replica
	// finished are stopped replicas not yet reported.
	finished map[string]*orchpb.ReplicaStatus
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	nudge    chan struct{}
}

// replica is what a hollow node "runs".
type replica struct {
	rep      *orchpb.Replica
	spec     *orchpb.ServiceSpec
	assigned time.Time
	started  int64
	// status is the last one reported: kept while the state holds, so a
	// fleet of thousands reporting each second allocates only for news.
	status *orchpb.ReplicaStatus
}

// Name is the node's name.
func (n *Node) Name() string { return n.name }

// ID is the id the masters gave the node ("" before it registered).
func (n *Node) ID() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.id
}

// Replicas are the ids of the replicas the node runs now, sorted.
func (n *Node) Replicas() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, 0, len(n.replicas))
	for id := range n.replicas {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// start registers the node and runs it until ctx ends or Kill.
func (n *Node) start(ctx context.Context) error {
	n.mu.Lock()
	if n.ch == nil {
		n.ch = n.channel()
	}
	ch := n.ch
	n.mu.Unlock()
	resp, err := n.register(ctx, ch)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	n.mu.Lock()
	n.id = resp.GetNode().GetId()
	n.cancel = cancel
	n.nudge = make(chan struct{}, 1)
	n.mu.Unlock()
	n.wg.Add(3)
	go func() { defer n.wg.Done(); n.runCertRenewal(ctx, ch) }()
	go func() { defer n.wg.Done(); n.runAssignments(ctx, ch) }()
	go func() { defer n.wg.Done(); n.runReporter(ctx, ch) }()
	return nil
}

func (n *Node) register(ctx context.Context, ch *agent.Channel) (*orchpb.NodeRegistrationResponse, error) {
	reg := &orchpb.NodeRegistration{Name: n.name, Labels: n.labels, Address: n.cfg.Address, Capacity: n.cfg.Capacity, Devices: n.cfg.Devices}
	resp, err := backoff.Retry(ctx, backoff.New(100*time.Millisecond, 2*time.Second), func() (*orchpb.NodeRegistrationResponse, error) {
		return ch.Register(ctx, reg)
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("hollow: register %s: %w", n.name, err)
	}
	return resp, nil
}

// runCertRenewal registers the node again when its certificate is due,
// as an agent does, so a fleet outlives short --cert-lifetime settings.
func (n *Node) runCertRenewal(ctx context.Context, ch *agent.Channel) {
	for ch.WaitRenewal(ctx, time.Second) == nil {
		if _, err := n.register(ctx, ch); err != nil {
			return // ctx ended: register retries until then
		}
	}
}

// Kill stops the node at once, as kill -9 stops an agent: no goodbye, no
// more reports, its stream closed. Its replicas stay in its memory, like
// containers outliving their agent.
func (n *Node) Kill() {
	n.mu.Lock()
	cancel := n.cancel
	n.cancel = nil
	n.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	n.wg.Wait()
}

// Restart brings a killed node back: it registers again (with labels, when
// non-nil, replacing its own) and follows its assignments, stopping the
// replicas the masters no longer list.
func (n *Node) Restart(ctx context.Context, labels map[string]string) error {
	n.Kill()
	if labels != nil {
		n.labels = labels
	}
	return n.start(ctx)
}

func (n *Node) runAssignments(ctx context.Context, ch *agent.Channel) {
	// Jittered: a fleet cut off by one master's failure must not come back
	// in step.
	bo := backoff.New(100*time.Millisecond, 2*time.Second, backoff.WithJitter())
	for ctx.Err() == nil {
		err := ch.WatchAssignments(ctx, n.ID(), n.cfg.Peers, n.apply)
		if ctx.Err() != nil {
			return
		}
		n.cfg.Logger.Debug("hollow: assignment stream broken", "node", n.name, "err", err)
		if n.breaks != nil {
			n.breaks.add(err)
		}
		if bo.Wait(ctx) != nil {
			return
		}
	}
}

// apply makes the node's replicas match the set, as the agent's workers do.
func (n *Node) apply(set *orchpb.AssignmentSet) {
	now := time.Now()
	want := map[string]*orchpb.Assignment{}
	for _, a := range set.GetAssignments() {
		if a.GetReplica().Desired() == orchpb.DesiredRunning {
			want[a.GetReplica().GetId()] = a
		}
	}
	n.mu.Lock()
	changed := false
	for id := range n.replicas {
		if _, ok := want[id]; !ok {
			delete(n.replicas, id)
			n.finished[id] = &orchpb.ReplicaStatus{Id: id, State: string(orchpb.ReplicaStopped)}
			changed = true
		}
	}
	for id, a := range want {
		if _, ok := n.replicas[id]; !ok {
			n.replicas[id] = &replica{rep: a.GetReplica(), spec: a.GetSpec(), assigned: now, started: now.UnixMilli()}
			changed = true
		}
	}
	nudge := n.nudge
	n.mu.Unlock()
	if changed {
		select {
		case nudge <- struct{}{}:
		default:
		}
	}
}

func (n *Node) runReporter(ctx context.Context, ch *agent.Channel) {
	// Spread the fleet's heartbeats over the interval.
	first := time.Duration(rand.Int64N(int64(n.cfg.HeartbeatInterval)))
	timer := time.NewTimer(first)
	defer timer.Stop()
	n.mu.Lock()
	nudge := n.nudge
	n.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return
		case <-nudge:
			// Let a burst of assignments share one report.
			time.Sleep(20 * time.Millisecond)
		case <-timer.C:
		}
		n.report(ctx, ch)
		timer.Reset(n.cfg.HeartbeatInterval)
	}
}

func (n *Node) report(ctx context.Context, ch *agent.Channel) {
	now := time.Now()
	n.mu.Lock()
	report := &orchpb.StatusReport{NodeId: n.id, Statuses: make([]*orchpb.ReplicaStatus, 0, len(n.replicas)+len(n.finished))}
	for id, r := range n.replicas {
		if r.spec.IsJob() && now.Sub(r.assigned) >= n.cfg.JobRunTime {
			report.Statuses = append(report.Statuses, runEnd(id, r.started, n.cfg.JobFailureRate))
			continue
		}
		state, msg := n.cfg.Behavior(r.rep, r.spec, now.Sub(r.assigned))
		if r.status == nil || r.status.GetState() != string(state) || r.status.GetMessage() != msg {
			r.status = &orchpb.ReplicaStatus{Id: id, State: string(state), Message: msg, StartedAt: r.started}
		}
		report.Statuses = append(report.Statuses, r.status)
	}
	var sent []string
	for id, st := range n.finished {
		report.Statuses = append(report.Statuses, st)
		sent = append(sent, id)
	}
	n.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := ch.ReportStatus(rctx, report); err != nil {
		n.cfg.Logger.Debug("hollow: report failed", "node", n.name, "err", err)
		return
	}
	n.mu.Lock()
	for _, id := range sent {
		delete(n.finished, id)
	}
	n.mu.Unlock()
}
