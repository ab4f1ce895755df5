package controllers

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/orch-io/orch/master/endpoint"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/orch-io/orch/scheduler"
)

// UpdateController watches every rollout in progress and ends it: completed
// (or rolled back) once every slot runs the new generation and has been
// healthy for update.minHealthy, failed once a slot has waited longer than
// update.deadline for that. On failure it rolls back (onFailure: rollback,
// when there is a previous spec and this is not already a rollback) or
// pauses the rollout. The replacement steps themselves are the service
// controller's; this one only judges them, and writes only the service's
// update status (or a rollback) through Raft, on transitions.
type UpdateController struct {
	store    *store.Store
	proposer endpoint.Proposer
	ready    *Readiness
	log      *slog.Logger
	resync   time.Duration

	// waiting is since when each slot (or, for a global service, node) of
	// a rollout has been waiting for a ready replica of the new generation.
	// Keyed by slot, not replica, so that replacing a failed new replica
	// does not restart the deadline. Leader memory only.
	waiting map[unitKey]time.Time

	// cursor is where the last pass read the store; active holds the
	// generation of every rollout in progress as of then (nil before the
	// first pass), so that a change costs a look at the services it
	// touched rather than a listing of every service.
	cursor store.Cursor
	active map[store.ServiceKey]uint64
}

type unitKey struct {
	namespace, name string
	generation      uint64
	slot            int32
	node            string
}

// UpdateDeps are the update controller's dependencies.
type UpdateDeps struct {
	Store    *store.Store
	Proposer endpoint.Proposer
	// Readiness must be the one the service controller uses.
	Readiness *Readiness
	Logger    *slog.Logger
	// Resync is how often deadlines are checked with no change seen
	// (default 500ms).
	Resync time.Duration
}

// NewUpdateController builds the controller.
func NewUpdateController(d UpdateDeps) *UpdateController {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Readiness == nil {
		d.Readiness = NewReadiness(nil)
	}
	if d.Resync <= 0 {
		d.Resync = 500 * time.Millisecond
	}
	return &UpdateController{store: d.Store, proposer: d.Proposer, ready: d.Readiness, resync: d.Resync,
		log: d.Logger.With("controller", "update"), waiting: map[unitKey]time.Time{}}
}

// Run judges rollouts on every store change and on a timer until ctx ends.
func (c *UpdateController) Run(ctx context.Context) error {
	changed, cancel := c.store.Notify()
	defer cancel()
	tick := time.NewTicker(c.resync)
	defer tick.Stop()
	every := true
	for {
		start := time.Now()
		if err := c.pass(ctx, every); err != nil && ctx.Err() == nil {
			c.log.Warn("update check failed", "err", err)
		}
		took := time.Since(start)
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			// Judging is not urgent to the millisecond: coalesce bursts.
			if !sleep(ctx, updateWait(took)) {
				return nil
			}
			every = false
		case <-tick.C:
			every = true
		}
	}
}

// coalesceUpdate is how long a change waits for the ones right behind it.
const coalesceUpdate = 50 * time.Millisecond

// updateWait is how long a change waits before the pass it triggers, after
// a pass that took took: coalesceUpdate, or twice the last pass (at most a
// second). While thousands of replicas change at once (a large placement,
// nodes lost), every pass judges every rollout again; waiting in proportion
// keeps the controller to about a third of a core, where back-to-back
// passes took 28% of a busy leader at 5,000 nodes, and a rollout's verdict
// is still at most a second or so late.
func updateWait(took time.Duration) time.Duration {
	return max(coalesceUpdate, min(2*took, time.Second))
}

// Verdict is what one look at a rollout concluded.
type Verdict struct {
	// Done: every slot runs the new generation, ready, and nothing else runs.
	Done bool
	// Failed names the first slot past its deadline, with why ("" if none).
	Failed string
	// Updated and Desired are the rollout's progress.
	Updated, Desired int32
	// CanariesReady: every canary slot runs the new generation, ready
	// (only in a canary stage).
	CanariesReady bool
}

// pass judges the rollouts in progress that changed since the last pass,
// or, with every (the timer: deadlines and update.minHealthy pass with no
// change), all of them. Only a lost history lists every service again.
func (c *UpdateController) pass(ctx context.Context, every bool) error {
	// The cursor is taken before the state is read, so that nothing
	// applied in between goes unseen.
	var keys []store.ServiceKey
	all, next := true, c.store.Cursor()
	if c.active != nil {
		keys, all, next = c.store.ChangedServices(c.cursor)
	}
	c.cursor = next
	if all {
		c.active = map[store.ServiceKey]uint64{}
		for _, svc := range c.store.Services("") {
			if rolling(svc) || autoPromoting(svc) {
				c.active[serviceKey(svc)] = svc.GetGeneration()
			}
		}
		every = true
	} else {
		for _, k := range keys {
			if svc := c.store.Service(k.Namespace, k.Name); rolling(svc) || autoPromoting(svc) {
				c.active[k] = svc.GetGeneration()
			} else {
				delete(c.active, k)
			}
		}
	}
	for k := range c.waiting {
		if c.active[store.ServiceKey{Namespace: k.namespace, Name: k.name}] != k.generation {
			delete(c.waiting, k)
		}
	}
	if every {
		keys = make([]store.ServiceKey, 0, len(c.active))
		for k := range c.active {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareKeys)
	}
	var nodes []*orchpb.Node
	var nodeByID map[string]*orchpb.Node
	for _, k := range keys {
		if _, ok := c.active[k]; !ok {
			continue
		}
		svc := c.store.Service(k.Namespace, k.Name)
		if !rolling(svc) && !autoPromoting(svc) {
			continue // changed since it was listed; the next pass sees why
		}
		if nodes == nil {
			nodes = c.store.Nodes()
			nodeByID = make(map[string]*orchpb.Node, len(nodes))
			for _, n := range nodes {
				nodeByID[n.GetId()] = n
			}
		}
		reps := c.store.Replicas(store.ReplicaFilter{Namespace: k.Namespace, Service: k.Name})
		if autoPromoting(svc) {
			if err := c.maybePromote(ctx, svc, reps); err != nil {
				return err
			}
			continue
		}
		v := c.judge(svc, reps, nodeByID, scheduler.Input{Nodes: nodes})
		switch {
		case v.CanariesReady:
			if err := c.pauseForPromotion(ctx, svc); err != nil {
				return err
			}
		case v.Done:
			if err := c.complete(ctx, svc, v); err != nil {
				return err
			}
		case v.Failed != "":
			if err := c.fail(ctx, svc, v.Failed); err != nil {
				return err
			}
		}
	}
	return nil
}

// rolling reports whether svc has a rollout of its current generation in
// progress.
func rolling(svc *orchpb.Service) bool {
	u := svc.GetUpdate()
	return svc != nil && u.GetGeneration() == svc.GetGeneration() && u.RolloutState().InProgress()
}

func serviceKey(svc *orchpb.Service) store.ServiceKey {
	return store.ServiceKey{Namespace: svc.GetSpec().GetNamespace(), Name: svc.GetSpec().GetName()}
}

// judge looks at one rollout: which slots are done, which wait, and for
// how long.
func (c *UpdateController) judge(svc *orchpb.Service, reps []*orchpb.Replica, nodes map[string]*orchpb.Node, in scheduler.Input) Verdict {
	spec := svc.GetSpec()
	gen := svc.GetGeneration()
	pol := policyOf(spec)
	now := c.ready.Now()
	var v Verdict
	live := int32(0)
	units := map[unitKey]*orchpb.Replica{} // the unit's newest current replica, nil if none yet
	global := spec.GetMode() == orchpb.ModeGlobal
	if global {
		for _, n := range scheduler.EligibleNodes(in, spec) {
			units[unitKey{spec.GetNamespace(), spec.GetName(), gen, 0, n.GetId()}] = nil
		}
	} else {
		for slot := int32(1); slot <= spec.GetReplicas(); slot++ {
			units[unitKey{spec.GetNamespace(), spec.GetName(), gen, slot, ""}] = nil
		}
	}
	ro := rolloutOf(svc)
	for _, rep := range reps {
		if rep.Desired() != orchpb.DesiredRunning || rep.Terminal() {
			continue
		}
		live++
		n := nodes[rep.GetNode()]
		if !ro.current(rep) || (n != nil && n.Status() == orchpb.NodeDraining) {
			continue
		}
		k := unitKey{spec.GetNamespace(), spec.GetName(), gen, rep.GetSlot(), ""}
		if global {
			k = unitKey{spec.GetNamespace(), spec.GetName(), gen, 0, rep.GetNode()}
		}
		if cur, ok := units[k]; ok && (cur == nil || rep.GetCreateIndex() > cur.GetCreateIndex()) {
			units[k] = rep
		}
	}
	v.Desired = int32(len(units))
	keys := make([]unitKey, 0, len(units))
	for k := range units {
		keys = append(keys, k)
	}
	// In slot (node) order, so that a failure names the first one.
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].slot != keys[j].slot {
			return keys[i].slot < keys[j].slot
		}
		return keys[i].node < keys[j].node
	})
	canariesReady := int32(0)
	for _, k := range keys {
		rep := units[k]
		if rep != nil && c.ready.Ready(rep, pol.minHealthy) {
			v.Updated++
			if k.slot <= ro.canary {
				canariesReady++
			}
			delete(c.waiting, k)
			continue
		}
		if rep == nil && !global {
			// Not started yet: the rollout has not reached this slot.
			continue
		}
		since, ok := c.waiting[k]
		if !ok {
			since = now
			if rep != nil {
				since = c.ready.FirstSeen(rep)
			}
			c.waiting[k] = since
		}
		if now.Sub(since) > pol.deadline && v.Failed == "" {
			v.Failed = notReadyWhy(spec, k, rep, nodes, pol)
		}
	}
	v.Done = v.Updated == v.Desired && live == v.Updated && ro.canary == 0
	v.CanariesReady = ro.canary > 0 && canariesReady >= min(ro.canary, v.Desired)
	return v
}

func notReadyWhy(spec *orchpb.ServiceSpec, k unitKey, rep *orchpb.Replica, nodes map[string]*orchpb.Node, pol policy) string {
	what := fmt.Sprintf("%s.%d", spec.GetName(), k.slot)
	if k.node != "" {
		what = spec.GetName() + " on node " + nodes[k.node].GetName()
	}
	goal := "running"
	if pol.minHealthy > 0 {
		goal = "healthy for " + pol.minHealthy.String()
	}
	why := fmt.Sprintf("%s not %s within %s", what, goal, pol.deadline)
	switch {
	case rep == nil:
		why += " (no room for it)"
	case rep.GetMessage() != "":
		why += fmt.Sprintf(" (%s: %s)", rep.GetState(), rep.GetMessage())
	default:
		why += fmt.Sprintf(" (%s)", rep.GetState())
	}
	return why
}

func (c *UpdateController) complete(ctx context.Context, svc *orchpb.Service, v Verdict) error {
	u := svc.GetUpdate()
	st := &orchpb.UpdateStatus{Generation: svc.GetGeneration(), State: string(orchpb.UpdateCompleted), FromGeneration: u.GetFromGeneration(),
		Rollback: u.GetRollback(), StartedIndex: u.GetStartedIndex(),
		Message: fmt.Sprintf("%d/%d replicas run generation %d", v.Updated, v.Desired, svc.GetGeneration())}
	if u.GetRollback() {
		st.SetRolloutState(orchpb.UpdateRolledBack)
		if u.GetMessage() != "" {
			st.Message = u.GetMessage() + "; " + st.Message
		}
	}
	c.log.Info("rollout ended", "service", key(svc), "generation", svc.GetGeneration(), "state", st.State)
	return c.setStatus(ctx, svc, st)
}

func (c *UpdateController) fail(ctx context.Context, svc *orchpb.Service, why string) error {
	u := svc.GetUpdate()
	gen := svc.GetGeneration()
	pol := policyOf(svc.GetSpec())
	if pol.rollback && !u.GetRollback() && svc.GetPreviousSpec() != nil {
		reason := fmt.Sprintf("update to generation %d failed: %s; rolled back", gen, why)
		c.log.Warn("rollout failed; rolling back", "service", key(svc), "generation", gen, "why", why)
		cmd := &orchpb.Command{Op: &orchpb.Command_RollbackService{RollbackService: &orchpb.RollbackService{
			Namespace: svc.GetSpec().GetNamespace(), Name: svc.GetSpec().GetName(), IfGeneration: gen, Reason: reason}}}
		res, err := c.proposer.Apply(ctx, cmd)
		if err != nil {
			return fmt.Errorf("controllers: roll back %s: %w", key(svc), err)
		}
		if res.GetErrorCode() != "" {
			c.log.Info("rollback not applied", "service", key(svc), "err", res.GetError())
		}
		return nil
	}
	st := &orchpb.UpdateStatus{Generation: gen, State: string(orchpb.UpdatePaused), FromGeneration: u.GetFromGeneration(),
		Rollback: u.GetRollback(), StartedIndex: u.GetStartedIndex(), Message: why}
	if pol.rollback || u.GetRollback() {
		// Nothing (more) to roll back to.
		st.SetRolloutState(orchpb.UpdateFailed)
		if u.GetRollback() {
			st.Message = "rollback failed: " + why
		}
	}
	c.log.Warn("rollout failed", "service", key(svc), "generation", gen, "state", st.State, "why", why)
	return c.setStatus(ctx, svc, st)
}

func (c *UpdateController) setStatus(ctx context.Context, svc *orchpb.Service, st *orchpb.UpdateStatus) error {
	cmd := &orchpb.Command{Op: &orchpb.Command_SetUpdateStatus{SetUpdateStatus: &orchpb.SetUpdateStatus{
		Namespace: svc.GetSpec().GetNamespace(), Name: svc.GetSpec().GetName(), Status: st}}}
	res, err := c.proposer.Apply(ctx, cmd)
	if err != nil {
		return fmt.Errorf("controllers: set update status of %s: %w", key(svc), err)
	}
	if res.GetErrorCode() != "" {
		// A newer apply came first; its rollout is judged next pass.
		c.log.Debug("update status not applied", "service", key(svc), "err", res.GetError())
	}
	return nil
}

func key(svc *orchpb.Service) string {
	return svc.GetSpec().GetNamespace() + "/" + svc.GetSpec().GetName()
}
