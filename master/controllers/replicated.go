package controllers

import (
	"fmt"
	"sort"

	orchpb "github.com/orch-io/orch/proto"
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
func reconcileReplicated(ch *Changes, svc *orchpb.Service, reps []*orchpb.Replica, nodes map[string]*orchpb.Node, env Env) []*orchpb.Replica {
	spec := svc.GetSpec()
	want := int32(1)
	if spec.Replicas != nil {
		want = spec.GetReplicas()
	}
	gen := svc.GetGeneration()
	pol := policyOf(spec)
	paused := halted(svc)
	draining := func(rep *orchpb.Replica) bool {
		n := nodes[rep.GetNode()]
		return rep.GetNode() != "" && n != nil && n.Status() == orchpb.NodeDraining
	}

	bySlot := map[int32][]*orchpb.Replica{}
	stopping := map[int32]bool{}
	live := int32(0)
	for _, rep := range reps {
		if rep.Desired() != orchpb.DesiredRunning {
			if stillRunning(rep, nodes) {
				// Told to stop but not yet stopped: its container still
				// runs, so it still takes surge room, and a stop-first
				// replacement waits for it.
				live++
				stopping[rep.GetSlot()] = true
			}
			continue
		}
		switch {
		case rep.GetSlot() > want || rep.GetSlot() < 1:
			ch.update(rep, stopped(rep, "scaled down"))
			if stillRunning(rep, nodes) {
				live++
			}
		case failedForGood(rep) && !completed(rep):
			ch.update(rep, stopped(rep, "replaced: "+rep.GetState()))
		default:
			bySlot[rep.GetSlot()] = append(bySlot[rep.GetSlot()], rep)
			live++
		}
	}

	var unplaced, retry []*orchpb.Replica
	var candidates []slotState
	available := int32(0)
	for slot := int32(1); slot <= want; slot++ {
		s := slotState{slot: slot, reps: bySlot[slot]}
		if len(s.reps) == 0 {
			if !stopping[slot] {
				unplaced = append(unplaced, newReplica(svc, slot, env.NewID()))
				live++
			}
			continue
		}
		for _, rep := range s.reps {
			if rep.Observed() == orchpb.ReplicaRunning {
				s.available = true
			}
			if !draining(rep) && (rep.GetGeneration() == gen || paused) && betterKeeper(rep, s.keeper, gen) {
				s.keeper = rep
			}
		}
		if s.available {
			available++
		}
		switch {
		case s.keeper == nil && s.available && len(s.reps) > 1:
			// Outdated replicas that do not even run (the failed new ones
			// of a rollout being rolled back) only take surge room.
			kept := s.reps[:0:0]
			for _, rep := range s.reps {
				if rep.Observed() == orchpb.ReplicaRunning {
					kept = append(kept, rep)
					continue
				}
				ch.update(rep, stopped(rep, replacedWhy(rep, nil, gen, draining(rep), nodes)))
				if !stillRunning(rep, nodes) {
					live--
				}
			}
			s.reps = kept
			candidates = append(candidates, s)
		case s.keeper == nil:
			candidates = append(candidates, s)
		case len(s.reps) > 1:
			ready := env.ready(s.keeper, pol.minHealthy)
			for _, rep := range s.reps {
				// An unplaced extra runs nothing: it can go at once.
				if rep != s.keeper && (ready || rep.GetNode() == "") {
					ch.update(rep, stopped(rep, replacedWhy(rep, s.keeper, gen, draining(rep), nodes)))
					if !stillRunning(rep, nodes) {
						live--
					}
				}
			}
		}
		if k := s.keeper; k != nil && k.GetNode() == "" && k.Observed() == orchpb.ReplicaPending {
			retry = append(retry, k)
		}
	}

	// Slots already unavailable go first: replacing them costs nothing.
	sort.SliceStable(candidates, func(i, j int) bool { return !candidates[i].available && candidates[j].available })
	budget := want + pol.surge - live
	for _, s := range candidates {
		next := func() *orchpb.Replica {
			if paused {
				// Only drains move while a rollout is halted, and a drain
				// keeps the spec the replica runs.
				old := newest(s.reps)
				return replicaOf(old.GetSpec(), old.GetGeneration(), s.slot, env.NewID())
			}
			return newReplica(svc, s.slot, env.NewID())
		}
		switch {
		case budget > 0:
			unplaced = append(unplaced, next())
			budget--
		case !s.available, available-1 >= want-pol.unavailable:
			// Stop first; the replacement follows once the old replicas
			// have stopped (the slot is empty then), so that no more than
			// replicas + maxSurge ever run.
			running := false
			for _, rep := range s.reps {
				ch.update(rep, stopped(rep, replacedWhy(rep, nil, gen, draining(rep), nodes)))
				running = running || stillRunning(rep, nodes)
			}
			if !running {
				unplaced = append(unplaced, next())
			}
			if s.available {
				available--
			}
		}
	}
	return append(unplaced, retry...)
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
func betterKeeper(rep, keeper *orchpb.Replica, gen uint64) bool {
	if keeper == nil {
		return true
	}
	if a, b := rep.GetGeneration() == gen, keeper.GetGeneration() == gen; a != b {
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
