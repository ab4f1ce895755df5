package controllers

import (
	"slices"

	"github.com/orch-io/orch/master/disruption"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/orch-io/orch/scheduler"
	"google.golang.org/protobuf/proto"
)

// preempt gives the replicas a plan left unplaced, when their service has
// a priority above 0, the room of replicas of lower priority
// (scheduler.Preempt). The victims are told to stop ("preempted by
// service NAME") in the same write that places the preemptor, before it:
// the FSM frees their room as it applies them, and the preemptor's
// container starts while theirs stop, as a replacement does.
func preempt(ch *Changes, st *store.Store, nodes []*orchpb.Node, all []*orchpb.Replica, plan scheduler.Plan,
	requests []scheduler.Request, pending []*orchpb.Replica) {
	unplaced := map[string]bool{}
	for _, u := range plan.Unplaced {
		unplaced[u.ReplicaID] = true
	}
	var wants []scheduler.Request
	for _, r := range requests {
		if r.Spec.GetPriority() <= 0 {
			continue
		}
		left := slices.DeleteFunc(slices.Clone(r.Replicas), func(rep *orchpb.Replica) bool { return !unplaced[rep.GetId()] })
		if len(left) > 0 {
			wants = append(wants, scheduler.Request{Spec: r.Spec, Replicas: left, Volumes: r.Volumes})
		}
	}
	if len(wants) == 0 {
		return
	}
	in, byID := preemptInput(ch, st, nodes, all, plan, pending)
	var victims []*orchpb.Replica
	for _, p := range scheduler.Preempt(in, wants) {
		rep := byID[p.ReplicaID]
		if rep == nil {
			continue
		}
		for _, id := range p.Victims {
			victims = append(victims, stopped(byID[id], orchpb.PreemptedBy+rep.GetService()))
			ch.Expected[id] = byID[id].GetVersion()
		}
		placed := proto.Clone(rep).(*orchpb.Replica)
		placed.Node, placed.Devices, placed.Message = p.NodeID, p.Devices, ""
		placed.SetObserved(orchpb.ReplicaAssigned)
		ch.replacePut(rep, placed)
	}
	ch.Put = append(victims, ch.Put...)
}

// preemptInput is every replica holding resources after this pass's
// decisions (those it stops are gone, those it placed are in), none that
// the pass already writes offered as a victim, and the services' budgets.
func preemptInput(ch *Changes, st *store.Store, nodes []*orchpb.Node, all []*orchpb.Replica, plan scheduler.Plan,
	pending []*orchpb.Replica) (scheduler.PreemptInput, map[string]*orchpb.Replica) {
	written := make(map[string]bool, len(ch.Put))
	for _, r := range ch.Put {
		written[r.GetId()] = true
	}
	byID := make(map[string]*orchpb.Replica, len(pending))
	for _, rep := range pending {
		byID[rep.GetId()] = rep
	}
	in := scheduler.PreemptInput{Nodes: nodes, Budgets: budgets(st, all)}
	for _, rep := range holding(all) {
		if !written[rep.GetId()] && byID[rep.GetId()] == nil {
			in.Replicas = append(in.Replicas, rep)
			byID[rep.GetId()] = rep
		}
	}
	for _, p := range plan.Placements {
		if rep := byID[p.ReplicaID]; rep != nil {
			placed := proto.Clone(rep).(*orchpb.Replica)
			placed.Node, placed.Devices = p.NodeID, plan.Devices[p.ReplicaID]
			in.Replicas = append(in.Replicas, placed)
		}
	}
	return in, byID
}

// budgets are how many more replicas of each service with a disruption
// budget may be taken down now (the slots of a replicated service, the
// live replicas of a global one).
func budgets(st *store.Store, all []*orchpb.Replica) map[scheduler.ServiceID]int32 {
	out := map[scheduler.ServiceID]int32{}
	byService := map[scheduler.ServiceID][]*orchpb.Replica{}
	for _, rep := range all {
		if rep.Desired() == orchpb.DesiredRunning && !rep.Terminal() {
			id := scheduler.ServiceID{Namespace: rep.GetNamespace(), Name: rep.GetService()}
			byService[id] = append(byService[id], rep)
		}
	}
	for _, svc := range st.Services("") {
		spec := svc.GetSpec()
		budget, ok := disruption.Budget(spec)
		if !ok {
			continue
		}
		id := scheduler.ServiceID{Namespace: spec.GetNamespace(), Name: spec.GetName()}
		reps := byService[id]
		desired := spec.GetReplicas()
		available := disruption.AvailableSlots(reps, desired)
		if spec.GetMode() == orchpb.ModeGlobal {
			desired, available = int32(len(reps)), 0
			for _, rep := range reps {
				if rep.Observed() == orchpb.ReplicaRunning {
					available++
				}
			}
		}
		out[id] = disruption.Allowance(desired, available, budget)
	}
	return out
}

// replacePut swaps the write of old in the pass's changes for updated, or
// adds it; a global replica kept out as unplaceable is taken back.
func (c *Changes) replacePut(old, updated *orchpb.Replica) {
	c.Unplaceable = slices.DeleteFunc(c.Unplaceable, func(u Unplaceable) bool {
		return u.Namespace == old.GetNamespace() && u.Service == old.GetService() && u.Replica == old.DisplayName()
	})
	if i := slices.IndexFunc(c.Put, func(r *orchpb.Replica) bool { return r.GetId() == old.GetId() }); i >= 0 {
		c.Put[i] = updated
		return
	}
	putOrUpdate(c, old, updated)
}
