package controllers

import (
	"fmt"
	"sort"

	"github.com/orch-io/orch/master/manifest"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/orch-io/orch/scheduler"
	"google.golang.org/protobuf/proto"
)

// Changes is what one reconcile pass decided; applying it is the caller's
// job, so the decision is a pure function of the store's contents.
type Changes struct {
	Put      []*orchpb.Replica
	Expected map[string]uint64
	Delete   []string
}

// Empty reports whether there is nothing to write.
func (c *Changes) Empty() bool { return len(c.Put) == 0 && len(c.Delete) == 0 }

func (c *Changes) update(old, updated *orchpb.Replica) {
	c.Put = append(c.Put, updated)
	c.Expected[old.GetId()] = old.GetVersion()
}

// Reconcile compares every service with its replicas and returns the
// replicas to create, change (stop, place) or delete. newID names new
// replicas.
func Reconcile(st *store.Store, newID func() string) *Changes {
	ch := &Changes{Expected: map[string]uint64{}}
	nodes := st.Nodes()
	nodeByID := make(map[string]*orchpb.Node, len(nodes))
	for _, n := range nodes {
		nodeByID[n.GetId()] = n
	}
	all := st.Replicas(store.ReplicaFilter{})
	byService := map[string][]*orchpb.Replica{}
	var pending []*orchpb.Replica
	for _, rep := range all {
		key := rep.GetNamespace() + "/" + rep.GetService()
		byService[key] = append(byService[key], rep)
		if rep.GetDesiredState() == orchpb.DesiredStopped && removable(rep, nodeByID) {
			ch.Delete = append(ch.Delete, rep.GetId())
		}
	}
	in := scheduler.Input{Nodes: nodes, Replicas: holding(all)}
	var requests []scheduler.Request
	for _, svc := range st.Services("") {
		key := svc.GetSpec().GetNamespace() + "/" + svc.GetSpec().GetName()
		var unplaced []*orchpb.Replica
		if svc.GetSpec().GetMode() == orchpb.ModeGlobal {
			unplaced = reconcileGlobal(ch, svc, byService[key], in, newID)
		} else {
			unplaced = reconcileReplicated(ch, svc, byService[key], newID)
		}
		if len(unplaced) > 0 {
			requests = append(requests, scheduler.Request{Spec: svc.GetSpec(), Replicas: unplaced})
			pending = append(pending, unplaced...)
		}
		delete(byService, key)
	}
	// Replicas of deleted services: the store stops them on delete; this
	// catches any that slipped through.
	for _, reps := range byService {
		for _, rep := range reps {
			if rep.GetDesiredState() == orchpb.DesiredRunning {
				ch.update(rep, stopped(rep, "service deleted"))
			}
		}
	}
	place(ch, in, requests, pending)
	return ch
}

// removable: a replica marked stopped may be forgotten once no agent can
// still be running it.
func removable(rep *orchpb.Replica, nodes map[string]*orchpb.Node) bool {
	if rep.GetNode() == "" {
		return true
	}
	switch rep.GetState() {
	case orchpb.ReplicaStopped, orchpb.ReplicaFailed, orchpb.ReplicaLost, orchpb.ReplicaPending:
		return true
	}
	n := nodes[rep.GetNode()]
	return n == nil || n.GetState() == orchpb.NodeDown
}

// holding are the replicas that hold resources on their nodes.
func holding(all []*orchpb.Replica) []*orchpb.Replica {
	out := make([]*orchpb.Replica, 0, len(all))
	for _, rep := range all {
		if rep.GetNode() != "" && rep.GetDesiredState() == orchpb.DesiredRunning && !rep.Terminal() {
			out = append(out, rep)
		}
	}
	return out
}

// failedForGood is a replica the agent will not bring back by itself.
func failedForGood(rep *orchpb.Replica) bool {
	switch rep.GetState() {
	case orchpb.ReplicaFailed, orchpb.ReplicaLost, orchpb.ReplicaStopped:
		return true
	}
	return false
}

func reconcileReplicated(ch *Changes, svc *orchpb.Service, reps []*orchpb.Replica, newID func() string) []*orchpb.Replica {
	want := int32(1)
	if svc.GetSpec().Replicas != nil {
		want = svc.GetSpec().GetReplicas()
	}
	gen := svc.GetGeneration()
	bySlot := map[int32][]*orchpb.Replica{}
	for _, rep := range reps {
		if rep.GetDesiredState() != orchpb.DesiredRunning {
			continue
		}
		switch {
		case rep.GetSlot() > want:
			ch.update(rep, stopped(rep, "scaled down"))
		case failedForGood(rep):
			ch.update(rep, stopped(rep, "replaced: "+rep.GetState()))
		default:
			bySlot[rep.GetSlot()] = append(bySlot[rep.GetSlot()], rep)
		}
	}
	// A rolling update replaces outdated replicas slot by slot: at most
	// maxSurge new replicas may be on their way at once, and an outdated
	// replica is stopped once its slot's new one runs.
	surge := int32(1)
	if s := svc.GetSpec().GetUpdate().MaxSurge; s != nil && *s > 0 {
		surge = *s
	}
	inflight := int32(0)
	for _, slotReps := range bySlot {
		for _, rep := range slotReps {
			if rep.GetGeneration() == gen && rep.GetState() != orchpb.ReplicaRunning && hasOutdated(slotReps, gen) {
				inflight++
			}
		}
	}
	var unplaced []*orchpb.Replica
	for slot := int32(1); slot <= want; slot++ {
		slotReps := bySlot[slot]
		current := currentReplica(slotReps, gen)
		switch {
		case len(slotReps) == 0:
			unplaced = append(unplaced, newReplica(svc, slot, newID()))
		case current == nil:
			if inflight < surge {
				inflight++
				unplaced = append(unplaced, newReplica(svc, slot, newID()))
			}
		case current.GetState() == orchpb.ReplicaRunning:
			for _, rep := range slotReps {
				if rep != current {
					ch.update(rep, stopped(rep, "replaced by generation "+fmt.Sprint(gen)))
				}
			}
		}
		for _, rep := range slotReps {
			if rep.GetNode() == "" && rep.GetState() == orchpb.ReplicaPending {
				unplaced = append(unplaced, rep)
			}
		}
	}
	return unplaced
}

func hasOutdated(reps []*orchpb.Replica, gen uint64) bool {
	for _, rep := range reps {
		if rep.GetGeneration() != gen {
			return true
		}
	}
	return false
}

// currentReplica is the newest replica of the slot running generation gen.
func currentReplica(reps []*orchpb.Replica, gen uint64) *orchpb.Replica {
	var best *orchpb.Replica
	for _, rep := range reps {
		if rep.GetGeneration() == gen && (best == nil || rep.GetCreateIndex() > best.GetCreateIndex()) {
			best = rep
		}
	}
	return best
}

func reconcileGlobal(ch *Changes, svc *orchpb.Service, reps []*orchpb.Replica, in scheduler.Input, newID func() string) []*orchpb.Replica {
	eligible := map[string]bool{}
	for _, n := range scheduler.EligibleNodes(in, svc.GetSpec()) {
		eligible[n.GetId()] = true
	}
	covered := map[string]bool{}
	used := map[int32]bool{}
	for _, rep := range reps {
		if rep.GetDesiredState() != orchpb.DesiredRunning {
			continue
		}
		switch {
		case failedForGood(rep):
			ch.update(rep, stopped(rep, "replaced: "+rep.GetState()))
		case rep.GetNode() != "" && !eligible[rep.GetNode()]:
			ch.update(rep, stopped(rep, "node no longer eligible"))
		case rep.GetNode() == "":
			ch.update(rep, stopped(rep, "global replicas are pinned to nodes"))
		default:
			covered[rep.GetNode()] = true
			used[rep.GetSlot()] = true
		}
	}
	ids := make([]string, 0, len(eligible))
	for id := range eligible {
		if !covered[id] {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	slot := int32(1)
	for _, id := range ids {
		for used[slot] {
			slot++
		}
		used[slot] = true
		rep := newReplica(svc, slot, newID())
		rep.Node = id
		rep.State = orchpb.ReplicaAssigned
		ch.Put = append(ch.Put, rep)
	}
	return nil
}

func newReplica(svc *orchpb.Service, slot int32, id string) *orchpb.Replica {
	spec := svc.GetSpec()
	rep := &orchpb.Replica{
		Id:           id,
		Namespace:    spec.GetNamespace(),
		Service:      spec.GetName(),
		Slot:         slot,
		Name:         fmt.Sprintf("%s.%d", spec.GetName(), slot),
		DesiredState: orchpb.DesiredRunning,
		State:        orchpb.ReplicaPending,
		Generation:   svc.GetGeneration(),
		Resources:    manifest.Requests(spec),
		Spec:         spec,
	}
	for _, p := range spec.GetPorts() {
		if p.GetHostPort() > 0 {
			rep.HostPorts = append(rep.HostPorts, p.GetHostPort())
		}
	}
	return rep
}

func stopped(rep *orchpb.Replica, why string) *orchpb.Replica {
	c := proto.Clone(rep).(*orchpb.Replica)
	c.DesiredState = orchpb.DesiredStopped
	if c.GetMessage() == "" {
		c.Message = why
	}
	return c
}

// place runs the scheduler over the pending replicas and records the plan:
// placements become `assigned`, the rest carry the scheduler's reason.
func place(ch *Changes, in scheduler.Input, requests []scheduler.Request, pending []*orchpb.Replica) {
	if len(requests) == 0 {
		return
	}
	plan := scheduler.Schedule(in, requests)
	byID := make(map[string]*orchpb.Replica, len(pending))
	for _, rep := range pending {
		byID[rep.GetId()] = rep
	}
	for _, p := range plan.Placements {
		rep := byID[p.ReplicaID]
		if rep == nil {
			continue
		}
		c := proto.Clone(rep).(*orchpb.Replica)
		c.Node = p.NodeID
		c.State = orchpb.ReplicaAssigned
		c.Message = ""
		putOrUpdate(ch, rep, c)
	}
	for _, u := range plan.Unplaced {
		rep := byID[u.ReplicaID]
		if rep == nil {
			continue
		}
		if rep.GetVersion() != 0 && rep.GetMessage() == u.Reason {
			continue // already says so; do not write the same thing again
		}
		c := proto.Clone(rep).(*orchpb.Replica)
		c.Message = u.Reason
		putOrUpdate(ch, rep, c)
	}
	// New replicas nobody wrote yet (there was no plan entry) still need storing.
	for _, rep := range pending {
		if rep.GetVersion() == 0 && !containsID(ch.Put, rep.GetId()) {
			ch.Put = append(ch.Put, rep)
		}
	}
}

func putOrUpdate(ch *Changes, old, updated *orchpb.Replica) {
	if old.GetVersion() == 0 {
		ch.Put = append(ch.Put, updated)
		return
	}
	ch.update(old, updated)
}

func containsID(reps []*orchpb.Replica, id string) bool {
	for _, r := range reps {
		if r.GetId() == id {
			return true
		}
	}
	return false
}
