package controllers

import (
	"fmt"
	"sort"

	"github.com/orch-io/orch/master/disruption"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/orch-io/orch/scheduler"
)

// slotState is one slot of a replicated service during a pass.
type slotState struct {
	slot int32
	reps []*orchpb.Replica
	// keeper is the replica the slot keeps: of the current
	// generation (any generation while the rollout is halted) and not on a
	// draining node. Nil means the slot must be replaced.
	keeper    *orchpb.Replica
	available bool // some replica of the slot is running
}

// reconcileReplicated turns replicas: N into N slots and returns the
// replicas that need a node. A slot whose replicas are all outdated (an
// older generation, or on a draining node) is replaced like a rolling
// update: the new replica starts first while the service is under
// replicas + update.maxSurge (counting replicas told to stop until their
// agent says they have), or the old one stops first while at least
// replicas - update.maxUnavailable slots stay available; the old replica
// is stopped once the new one has been ready for update.minHealthy. A
// drain is therefore the service's own rolling replacement, with its
// limits, and never stops a replica before its replacement is ready
// unless maxUnavailable allows it.
func reconcileReplicated(ch *Changes, svc *orchpb.Service, reps []*orchpb.Replica, nodes map[string]*orchpb.Node,
	pins map[int32]scheduler.VolumePin, env Env) []*orchpb.Replica {
	spec := svc.GetSpec()
	want := int32(1)
	if spec.Replicas != nil {
		want = spec.GetReplicas()
	}
	p := &replicatedPass{
		ch: ch, svc: svc, nodes: nodes, pins: pins, env: env,
		want: want, gen: svc.GetGeneration(), pol: policyOf(spec), paused: halted(svc), ro: rolloutOf(svc),
	}
	// A disruption budget bounds stop-first moves like maxUnavailable does.
	p.pol.unavailable = disruption.Limit(spec, p.pol.unavailable)
	bySlot, stopping := p.sortIntoSlots(reps)
	candidates := p.settleSlots(bySlot, stopping)
	p.replaceOutdated(candidates)
	return append(p.unplaced, p.retry...)
}

// replicatedPass is one reconcileReplicated: the service as it wants to
// be, and the counts and results its steps share.
type replicatedPass struct {
	ch     *Changes
	svc    *orchpb.Service
	nodes  map[string]*orchpb.Node
	pins   map[int32]scheduler.VolumePin
	env    Env
	want   int32
	gen    uint64
	pol    policy
	paused bool
	ro     rolloutView

	// live counts the replicas that run or are about to: the surge room
	// they take.
	live int32
	// available counts the slots with a running replica.
	available int32
	// unplaced are the new replicas; retry the kept ones still without a node.
	unplaced, retry []*orchpb.Replica
}

// draining: rep is on a draining node and can move. A slot held there by
// its volume cannot: it keeps its replica, and `orchctl node drain` names it.
func (p *replicatedPass) draining(rep *orchpb.Replica) bool {
	n := p.nodes[rep.GetNode()]
	return rep.GetNode() != "" && n != nil && n.Status() == orchpb.NodeDraining && !pinnedTo(p.pins, rep)
}

// sortIntoSlots stops the replicas no slot wants (scaled down, failed for
// good) and groups the others by slot. stopping holds the slots where a
// replica told to stop still runs.
func (p *replicatedPass) sortIntoSlots(reps []*orchpb.Replica) (bySlot map[int32][]*orchpb.Replica, stopping map[int32]bool) {
	ch, nodes := p.ch, p.nodes
	bySlot = map[int32][]*orchpb.Replica{}
	stopping = map[int32]bool{}
	for _, rep := range reps {
		if rep.Desired() != orchpb.DesiredRunning {
			if stillRunning(rep, nodes) {
				// Told to stop but not yet stopped: its container still
				// runs, so it still takes surge room, and a stop-first
				// replacement waits for it.
				p.live++
				stopping[rep.GetSlot()] = true
			}
			continue
		}
		switch {
		case rep.GetSlot() > p.want || rep.GetSlot() < 1:
			ch.update(rep, stopped(rep, "scaled down"))
			if stillRunning(rep, nodes) {
				p.live++
			}
		case failedForGood(rep) && !completed(rep):
			ch.update(rep, stopped(rep, "replaced: "+rep.GetState()))
		default:
			bySlot[rep.GetSlot()] = append(bySlot[rep.GetSlot()], rep)
			p.live++
		}
	}
	return bySlot, stopping
}

// settleSlots fills the empty slots, picks each slot's keeper and stops
// the extras a slot no longer needs. It returns the slots without a
// keeper: those to replace.
func (p *replicatedPass) settleSlots(bySlot map[int32][]*orchpb.Replica, stopping map[int32]bool) []slotState {
	var candidates []slotState
	for slot := int32(1); slot <= p.want; slot++ {
		s := slotState{slot: slot, reps: bySlot[slot]}
		if len(s.reps) == 0 {
			if !stopping[slot] {
				p.unplaced = append(p.unplaced, newReplica(p.svc, slot, p.env.NewID()))
				p.live++
			}
			continue
		}
		for _, rep := range s.reps {
			if rep.Observed() == orchpb.ReplicaRunning {
				s.available = true
			}
			if !p.draining(rep) && !rep.GetMoving() && (p.ro.current(rep) || p.paused || p.ro.waitsForPromotion(slot)) && betterKeeper(rep, s.keeper, p.ro) {
				s.keeper = rep
			}
		}
		if s.available {
			p.available++
		}
		switch {
		case s.keeper == nil && s.available && len(s.reps) > 1:
			s.reps = p.stopIdleOutdated(s.reps)
			candidates = append(candidates, s)
		case s.keeper == nil:
			candidates = append(candidates, s)
		case len(s.reps) > 1:
			p.stopExtras(s)
		}
		if k := s.keeper; k != nil && k.GetNode() == "" && k.Observed() == orchpb.ReplicaPending {
			p.retry = append(p.retry, k)
		}
	}
	return candidates
}

// stopIdleOutdated stops the replicas of a slot without a keeper that do
// not run and returns those that do. Outdated replicas that do not even
// run (the failed new ones of a rollout being rolled back) only take
// surge room.
func (p *replicatedPass) stopIdleOutdated(reps []*orchpb.Replica) []*orchpb.Replica {
	kept := reps[:0:0]
	for _, rep := range reps {
		if rep.Observed() == orchpb.ReplicaRunning {
			kept = append(kept, rep)
			continue
		}
		p.ch.update(rep, stopped(rep, replacedWhy(rep, nil, p.gen, p.draining(rep), p.nodes)))
		if !stillRunning(rep, p.nodes) {
			p.live--
		}
	}
	return kept
}

// stopExtras stops a slot's replicas other than its keeper once the keeper
// is ready.
func (p *replicatedPass) stopExtras(s slotState) {
	ready := p.env.ready(s.keeper, p.pol.minHealthy)
	for _, rep := range s.reps {
		// An unplaced extra runs nothing: it can go at once.
		if rep != s.keeper && (ready || rep.GetNode() == "") {
			p.ch.update(rep, stopped(rep, replacedWhy(rep, s.keeper, p.gen, p.draining(rep), p.nodes)))
			if !stillRunning(rep, p.nodes) {
				p.live--
			}
		}
	}
}

// replaceOutdated replaces the slots without a keeper as the update
// policy allows: start first within the surge room, else stop first while
// enough slots stay available.
func (p *replicatedPass) replaceOutdated(candidates []slotState) {
	// Slots already unavailable go first: replacing them costs nothing.
	sort.SliceStable(candidates, func(i, j int) bool { return !candidates[i].available && candidates[j].available })
	budget := p.want + p.pol.surge - p.live
	for _, s := range candidates {
		switch {
		case budget > 0 || p.onlyMoving(s):
			// A rebalance move always starts its replacement first: the
			// rebalancer marked no more than the budget allows.
			p.unplaced = append(p.unplaced, p.replacement(s))
			budget--
		case !s.available, p.available-1 >= p.want-p.pol.unavailable:
			// Stop first; the replacement follows once the old replicas
			// have stopped (the slot is empty then), so that no more than
			// replicas + maxSurge ever run.
			running := false
			for _, rep := range s.reps {
				p.ch.update(rep, stopped(rep, replacedWhy(rep, nil, p.gen, p.draining(rep), p.nodes)))
				running = running || stillRunning(rep, p.nodes)
			}
			if !running {
				p.unplaced = append(p.unplaced, p.replacement(s))
			}
			if s.available {
				p.available--
			}
		}
	}
}

// onlyMoving: the slot is replaced only because the rebalancer moves it.
func (p *replicatedPass) onlyMoving(s slotState) bool {
	for _, rep := range s.reps {
		if !rep.GetMoving() || p.draining(rep) || !p.ro.current(rep) {
			return false
		}
	}
	return len(s.reps) > 0
}

// replacement is the new replica for slot s.
func (p *replicatedPass) replacement(s slotState) *orchpb.Replica {
	if (p.paused || p.ro.waitsForPromotion(s.slot)) && len(s.reps) > 0 {
		// Only drains move while a rollout is halted (or its slot waits
		// for the canaries' promotion), and a drain keeps the spec the
		// replica runs.
		old := newest(s.reps)
		return replicaOf(old.GetSpec(), old.GetGeneration(), s.slot, p.env.NewID())
	}
	return newReplica(p.svc, s.slot, p.env.NewID())
}

func newest(reps []*orchpb.Replica) *orchpb.Replica {
	var best *orchpb.Replica
	for _, rep := range reps {
		if best == nil || rep.GetCreateIndex() > best.GetCreateIndex() {
			best = rep
		}
	}
	return best
}

// replacedWhy is the message of a replica stopped for a replacement.
func replacedWhy(rep, by *orchpb.Replica, gen uint64, onDraining bool, nodes map[string]*orchpb.Node) string {
	switch {
	case onDraining:
		return "moved off draining node " + nodes[rep.GetNode()].GetName()
	case rep.GetMoving():
		return "moved by rebalance"
	case rep.GetGeneration() != gen:
		return fmt.Sprintf("replaced by generation %d", gen)
	case by != nil:
		return "replaced by " + by.GetId()
	}
	return "replaced"
}

// betterKeeper prefers the current generation (a halted rollout keeps
// what it started), then a running replica, then the newest: two plans
// racing may leave a slot with a running replica and a newer one that never
// found room, and the slot must keep the one that runs.
func betterKeeper(rep, keeper *orchpb.Replica, ro rolloutView) bool {
	if keeper == nil {
		return true
	}
	if a, b := ro.current(rep), ro.current(keeper); a != b {
		return a
	}
	if a, b := rep.Observed() == orchpb.ReplicaRunning, keeper.Observed() == orchpb.ReplicaRunning; a != b {
		return a
	}
	return rep.GetCreateIndex() > keeper.GetCreateIndex()
}

// stillRunning: a replica told to stop whose agent has not yet said it
// stopped (and can still say so: its node is not down).
func stillRunning(rep *orchpb.Replica, nodes map[string]*orchpb.Node) bool {
	if rep.GetNode() == "" || rep.Terminal() || rep.Observed() == orchpb.ReplicaPending {
		return false
	}
	n := nodes[rep.GetNode()]
	return n != nil && n.Status() != orchpb.NodeDown
}
