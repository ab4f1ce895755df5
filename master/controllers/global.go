package controllers

import (
	"sort"

	orchpb "github.com/orch-io/orch/proto"
	"github.com/orch-io/orch/scheduler"
)

// reconcileGlobal keeps one replica on every eligible node (ready, passing
// the constraints), following nodes as they join, leave, drain or change
// labels, and rolls a new generation out node by node: start-first within
// update.maxSurge nodes at a time, or stop-first within
// update.maxUnavailable when the service publishes host ports (two
// replicas could not share them). New replicas are pinned to their node and
// placed through the scheduler, which checks that the node has room.
func reconcileGlobal(ch *Changes, svc *orchpb.Service, reps []*orchpb.Replica, in scheduler.Input, env Env) []*orchpb.Replica {
	spec := svc.GetSpec()
	gen := svc.GetGeneration()
	pol := policyOf(spec)
	paused := halted(svc)
	eligible := map[string]bool{}
	for _, n := range scheduler.EligibleNodes(in, spec) {
		eligible[n.GetId()] = true
	}
	byNode := map[string][]*orchpb.Replica{}
	used := map[int32]bool{}
	nodeByID := make(map[string]*orchpb.Node, len(in.Nodes))
	for _, n := range in.Nodes {
		nodeByID[n.GetId()] = n
	}
	// Nodes where a replica told to stop still runs: a stop-first
	// replacement waits for it (it may hold the host ports).
	stopping := map[string]bool{}
	for _, rep := range reps {
		if rep.Desired() != orchpb.DesiredRunning {
			if stillRunning(rep, nodeByID) {
				stopping[rep.GetNode()] = true
				used[rep.GetSlot()] = true
			}
			continue
		}
		switch {
		case failedForGood(rep) && !completed(rep):
			ch.update(rep, stopped(rep, "replaced: "+rep.GetState()))
		case rep.GetNode() == "":
			ch.update(rep, stopped(rep, "global replicas are pinned to nodes"))
		case !eligible[rep.GetNode()]:
			ch.update(rep, stopped(rep, "node no longer eligible"))
		default:
			byNode[rep.GetNode()] = append(byNode[rep.GetNode()], rep)
			used[rep.GetSlot()] = true
		}
	}
	ids := make([]string, 0, len(eligible))
	for id := range eligible {
		ids = append(ids, id)
	}
	sort.Strings(ids)

	slot := int32(0)
	nextSlot := func() int32 {
		for slot++; used[slot]; slot++ {
		}
		used[slot] = true
		return slot
	}
	pinned := func(node string, s int32) *orchpb.Replica {
		rep := newReplica(svc, s, env.NewID())
		rep.Node = node
		return rep
	}
	startFirst := !publishesHostPorts(spec) && pol.surge > 0
	limit := max(pol.unavailable, 1)
	if startFirst {
		limit = pol.surge
	}
	var unplaced []*orchpb.Replica
	inflight := int32(0)
	var candidates []string
	for _, id := range ids {
		nreps := byNode[id]
		if len(nreps) == 0 {
			if !stopping[id] {
				unplaced = append(unplaced, pinned(id, nextSlot()))
			}
			if stopping[id] || svc.GetUpdate().RolloutState().InProgress() {
				// During a rollout an empty node is most likely one being
				// replaced: it counts against the limit.
				inflight++
			}
			continue
		}
		var current *orchpb.Replica
		for _, rep := range nreps {
			if (rep.GetGeneration() == gen || paused) && (current == nil || rep.GetCreateIndex() > current.GetCreateIndex()) {
				current = rep
			}
		}
		switch {
		case current == nil:
			candidates = append(candidates, id)
		case env.ready(current, pol.minHealthy):
			for _, rep := range nreps {
				if rep != current {
					ch.update(rep, stopped(rep, replacedWhy(rep, current, gen, false, nil)))
				}
			}
		case svc.GetUpdate().RolloutState().InProgress():
			inflight++
		}
	}
	for _, id := range candidates {
		if paused || inflight >= limit {
			break
		}
		inflight++
		if !startFirst {
			running := false
			for _, rep := range byNode[id] {
				ch.update(rep, stopped(rep, replacedWhy(rep, nil, gen, false, nil)))
				running = running || stillRunning(rep, nodeByID)
			}
			if running {
				continue // the replacement follows once it has stopped
			}
		}
		unplaced = append(unplaced, pinned(id, nextSlot()))
	}
	return unplaced
}

func publishesHostPorts(spec *orchpb.ServiceSpec) bool {
	for _, p := range spec.GetPorts() {
		if p.GetHostPort() > 0 {
			return true
		}
	}
	return false
}
