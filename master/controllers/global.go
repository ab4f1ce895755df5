package controllers

import (
	"sort"

	"github.com/orch-io/orch/master/disruption"
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
	p := &globalPass{
		ch: ch, svc: svc, env: env,
		gen: svc.GetGeneration(), pol: policyOf(spec), paused: halted(svc),
		byNode:   map[string][]*orchpb.Replica{},
		used:     map[int32]bool{},
		nodeByID: make(map[string]*orchpb.Node, len(in.Nodes)),
		stopping: map[string]bool{},
	}
	eligible := map[string]bool{}
	for _, n := range scheduler.EligibleNodes(in, spec) {
		eligible[n.GetId()] = true
	}
	for _, n := range in.Nodes {
		p.nodeByID[n.GetId()] = n
	}
	p.sortByNode(reps, eligible)
	ids := make([]string, 0, len(eligible))
	for id := range eligible {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	candidates := p.settleNodes(ids)
	p.replaceOutdated(candidates, int32(len(ids)))
	return p.unplaced
}

// globalPass is one reconcileGlobal: the service as it wants to be, its
// replicas by node, and the counts and results its steps share.
type globalPass struct {
	ch     *Changes
	svc    *orchpb.Service
	env    Env
	gen    uint64
	pol    policy
	paused bool

	nodeByID map[string]*orchpb.Node
	byNode   map[string][]*orchpb.Replica
	// used holds the slots taken; new replicas get the lowest free one.
	used map[int32]bool
	slot int32
	// stopping holds the nodes where a replica told to stop still runs: a
	// stop-first replacement waits for it (it may hold the host ports).
	stopping map[string]bool
	// inflight counts the nodes being replaced, against the policy's limit.
	inflight int32
	unplaced []*orchpb.Replica
}

// sortByNode stops the replicas no eligible node wants (failed for good,
// unpinned, on a node no longer eligible) and groups the others by node.
func (p *globalPass) sortByNode(reps []*orchpb.Replica, eligible map[string]bool) {
	ch := p.ch
	for _, rep := range reps {
		if rep.Desired() != orchpb.DesiredRunning {
			if stillRunning(rep, p.nodeByID) {
				p.stopping[rep.GetNode()] = true
				p.used[rep.GetSlot()] = true
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
			p.byNode[rep.GetNode()] = append(p.byNode[rep.GetNode()], rep)
			p.used[rep.GetSlot()] = true
		}
	}
}

func (p *globalPass) nextSlot() int32 {
	for p.slot++; p.used[p.slot]; p.slot++ {
	}
	p.used[p.slot] = true
	return p.slot
}

func (p *globalPass) pinned(node string, s int32) *orchpb.Replica {
	rep := newReplica(p.svc, s, p.env.NewID())
	rep.Node = node
	return rep
}

// settleNodes places a replica on each empty eligible node and stops the
// replicas a node's ready current one replaces. It returns the nodes
// without a current replica: those to replace.
func (p *globalPass) settleNodes(ids []string) []string {
	var candidates []string
	for _, id := range ids {
		nreps := p.byNode[id]
		if len(nreps) == 0 {
			if !p.stopping[id] {
				p.unplaced = append(p.unplaced, p.pinned(id, p.nextSlot()))
			}
			if p.stopping[id] || p.svc.GetUpdate().RolloutState().InProgress() {
				// During a rollout an empty node is most likely one being
				// replaced: it counts against the limit.
				p.inflight++
			}
			continue
		}
		var current *orchpb.Replica
		for _, rep := range nreps {
			if (rep.GetGeneration() == p.gen || p.paused) && (current == nil || rep.GetCreateIndex() > current.GetCreateIndex()) {
				current = rep
			}
		}
		switch {
		case current == nil:
			candidates = append(candidates, id)
		case p.env.ready(current, p.pol.minHealthy):
			for _, rep := range nreps {
				if rep != current {
					p.ch.update(rep, stopped(rep, replacedWhy(rep, current, p.gen, false, nil)))
				}
			}
		case p.svc.GetUpdate().RolloutState().InProgress():
			p.inflight++
		}
	}
	return candidates
}

// replaceOutdated replaces the candidate nodes' replicas, as many nodes at
// a time as the update policy allows and, stopping first, as the
// disruption budget allows among the desired nodes.
func (p *globalPass) replaceOutdated(candidates []string, desired int32) {
	startFirst := !publishesHostPorts(p.svc.GetSpec()) && p.pol.surge > 0
	limit := max(p.pol.unavailable, 1)
	if startFirst {
		limit = p.pol.surge
	}
	budget, budgeted := disruption.Budget(p.svc.GetSpec())
	available := p.availableNodes()
	for _, id := range candidates {
		if p.paused || p.inflight >= limit {
			break
		}
		if budgeted && !startFirst && p.runningOn(id) {
			// Stopping a replica that runs is a voluntary disruption.
			if disruption.Allowance(desired, available, budget) == 0 {
				break
			}
			available--
		}
		p.inflight++
		if !startFirst {
			running := false
			for _, rep := range p.byNode[id] {
				p.ch.update(rep, stopped(rep, replacedWhy(rep, nil, p.gen, false, nil)))
				running = running || stillRunning(rep, p.nodeByID)
			}
			if running {
				continue // the replacement follows once it has stopped
			}
		}
		p.unplaced = append(p.unplaced, p.pinned(id, p.nextSlot()))
	}
}

func publishesHostPorts(spec *orchpb.ServiceSpec) bool {
	for _, p := range spec.GetPorts() {
		if p.GetHostPort() > 0 {
			return true
		}
	}
	return false
}

// availableNodes counts the nodes where a replica of the service, meant to
// run, runs.
func (p *globalPass) availableNodes() int32 {
	n := int32(0)
	for id := range p.byNode {
		if p.runningOn(id) {
			n++
		}
	}
	return n
}

func (p *globalPass) runningOn(id string) bool {
	for _, rep := range p.byNode[id] {
		if rep.Observed() == orchpb.ReplicaRunning {
			return true
		}
	}
	return false
}
