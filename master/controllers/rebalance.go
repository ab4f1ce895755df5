package controllers

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/disruption"
	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/orch-io/orch/scheduler"
)

// RebalancePlan is what `orchctl rebalance` shows and asks for: the moves
// that restore the spread of replicated services (scheduler.Rebalance) on
// the store as it is, and the command that marks their replicas. Each
// service moves at most what its disruption budget allows now, less the
// moves still in flight; a service without a budget moves one replica at
// a time. The cmd is nil when there is nothing to move.
func RebalancePlan(st *store.Store) ([]api.RebalanceMove, *orchpb.Command) {
	all := st.AllReplicas()
	in := scheduler.RebalanceInput{Nodes: st.Nodes(), Replicas: holding(all), Allowance: map[scheduler.ServiceID]int32{}}
	inFlight := map[scheduler.ServiceID]int32{}
	byID := map[string]*orchpb.Replica{}
	for _, rep := range in.Replicas {
		byID[rep.GetId()] = rep
		if rep.GetMoving() {
			inFlight[scheduler.ServiceID{Namespace: rep.GetNamespace(), Name: rep.GetService()}]++
		}
	}
	for _, svc := range st.Services("") {
		spec := svc.GetSpec()
		if spec.IsJob() {
			continue // a run ends by itself; moving it would start it again
		}
		id := scheduler.ServiceID{Namespace: spec.GetNamespace(), Name: spec.GetName()}
		allowed := int32(1)
		if budget, ok := disruption.Budget(spec); ok {
			reps := st.Replicas(store.ReplicaFilter{Namespace: id.Namespace, Service: id.Name})
			allowed = disruption.Allowance(spec.GetReplicas(), disruption.AvailableSlots(reps, spec.GetReplicas()), budget)
		}
		in.Specs = append(in.Specs, spec)
		in.Allowance[id] = allowed - inFlight[id]
	}
	var out []api.RebalanceMove
	expected := map[string]uint64{}
	for _, m := range scheduler.Rebalance(in) {
		rep := byID[m.ReplicaID]
		expected[m.ReplicaID] = rep.GetVersion()
		out = append(out, api.RebalanceMove{Namespace: m.Service.Namespace, Service: m.Service.Name, Replica: rep.DisplayName(),
			ID: m.ReplicaID, From: nodeName(st, m.From), To: nodeName(st, m.To)})
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, &orchpb.Command{Op: &orchpb.Command_MoveReplicas{MoveReplicas: &orchpb.MoveReplicas{ExpectedVersions: expected}}}
}

// RebalanceController, opted into with `orchd master --rebalance`, runs
// the rebalance plan on a timer and marks the moves it finds: spread comes
// back by itself after nodes join or return. Moves go one budget's worth
// at a time per service; a service with moves in flight waits for them.
type RebalanceController struct {
	store    *store.Store
	proposer endpoint.Proposer
	log      *slog.Logger
	interval time.Duration
}

// RebalanceDeps are the rebalance controller's dependencies.
type RebalanceDeps struct {
	Store    *store.Store
	Proposer endpoint.Proposer
	Logger   *slog.Logger
	// Interval is how often it looks (default 10s): spread is no
	// emergency, and each look plans over every replica.
	Interval time.Duration
}

// NewRebalanceController builds the controller.
func NewRebalanceController(d RebalanceDeps) *RebalanceController {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Interval <= 0 {
		d.Interval = 10 * time.Second
	}
	return &RebalanceController{store: d.Store, proposer: d.Proposer, log: d.Logger.With("controller", "rebalance"), interval: d.Interval}
}

// Run rebalances every interval until ctx ends.
func (c *RebalanceController) Run(ctx context.Context) error {
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := c.once(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("rebalance failed", "err", err)
			}
		}
	}
}

func (c *RebalanceController) once(ctx context.Context) error {
	moves, cmd := RebalancePlan(c.store)
	if cmd == nil {
		return nil
	}
	// The moves are logged before they are asked for, as orchctl
	// rebalance shows them.
	for _, m := range moves {
		c.log.Info("moving replica", "replica", m.Replica, "namespace", m.Namespace, "from", m.From, "to", m.To)
	}
	res, err := c.proposer.Apply(ctx, cmd)
	if err != nil {
		return fmt.Errorf("controllers: mark %d moves: %w", len(moves), err)
	}
	for id, why := range res.GetRejected() {
		c.log.Info("move refused", "replica", id, "reason", why)
	}
	if e := res.GetError(); e != "" {
		return fmt.Errorf("controllers: mark %d moves: %s", len(moves), e)
	}
	return nil
}
