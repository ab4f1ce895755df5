package controllers

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/orch-io/orch/master/manifest"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/orch-io/orch/scheduler"
	"google.golang.org/protobuf/proto"
)

// Changes is what one reconcile pass decided; applying it is the caller's
// job, so the decision is a pure function of the store's contents and Env.
type Changes struct {
	Put      []*orchpb.Replica
	Expected map[string]uint64
	Delete   []string
	// Unplaceable are global replicas no pinned node had room for; they are
	// not stored (unplaced, they would lose their node) and are tried
	// again next pass. Plan shows them.
	Unplaceable []Unplaceable
	// Placing are the services that had replicas needing a node.
	Placing []store.ServiceKey
}

// Unplaceable is a replica that was not stored for lack of room.
type Unplaceable struct {
	Namespace, Service, Replica, Reason string
}

// Empty reports whether there is nothing to write.
func (c *Changes) Empty() bool { return len(c.Put) == 0 && len(c.Delete) == 0 }

func (c *Changes) update(old, updated *orchpb.Replica) {
	c.Put = append(c.Put, updated)
	c.Expected[old.GetId()] = old.GetVersion()
}

// Env is what a reconcile pass needs besides the store.
type Env struct {
	// NewID names new replicas.
	NewID func() string
	// Ready reports whether a replica has been running (healthy) for at
	// least d. Nil means a running replica counts at once.
	Ready func(rep *orchpb.Replica, d time.Duration) bool
}

func (e Env) ready(rep *orchpb.Replica, d time.Duration) bool {
	if e.Ready == nil {
		return rep.Observed() == orchpb.ReplicaRunning
	}
	return e.Ready(rep, d)
}

// Reconcile compares every service with its replicas and returns the
// replicas to create, change (stop, place) or delete.
func Reconcile(st *store.Store, env Env) *Changes {
	return reconcileAll(st, st.AllReplicas(), env)
}

// serviceGroup is one service and its replicas as a pass read them; svc is
// nil for a deleted service whose replicas are still stored.
type serviceGroup struct {
	key  store.ServiceKey
	svc  *orchpb.Service
	reps []*orchpb.Replica
}

// reconcileAll is Reconcile on a list of every replica the caller already
// holds (in any order), read from st before its services and nodes.
func reconcileAll(st *store.Store, all []*orchpb.Replica, env Env) *Changes {
	byService := map[store.ServiceKey][]*orchpb.Replica{}
	for _, rep := range all {
		key := store.ServiceKey{Namespace: rep.GetNamespace(), Name: rep.GetService()}
		byService[key] = append(byService[key], rep)
	}
	var groups []serviceGroup
	for _, svc := range st.Services("") {
		key := serviceKey(svc)
		groups = append(groups, serviceGroup{key, svc, byService[key]})
		delete(byService, key)
	}
	for key, reps := range byService {
		groups = append(groups, serviceGroup{key: key, reps: reps})
	}
	return reconcileGroups(st, groups, func() []*orchpb.Replica { return all }, env)
}

// readGroups reads the listed services and their replicas.
func readGroups(st *store.Store, keys []store.ServiceKey) []serviceGroup {
	groups := make([]serviceGroup, 0, len(keys))
	for _, key := range keys {
		groups = append(groups, serviceGroup{key, st.Service(key.Namespace, key.Name),
			st.Replicas(store.ReplicaFilter{Namespace: key.Namespace, Service: key.Name})})
	}
	return groups
}

// reconcileGroups decides for the given services only: what their
// replicas need, and where the ones to place go. all lists every replica,
// for the scheduler (host ports, spread); it is called only when something
// is to be placed.
func reconcileGroups(st *store.Store, groups []serviceGroup, all func() []*orchpb.Replica, env Env) *Changes {
	ch := &Changes{Expected: map[string]uint64{}}
	nodes := st.Nodes()
	nodeByID := make(map[string]*orchpb.Node, len(nodes))
	for _, n := range nodes {
		nodeByID[n.GetId()] = n
	}
	// What nodes hold comes from their Allocated (the store keeps it
	// current); only replicas Allocated cannot tell about are listed, and
	// only when something is to be placed (see placementInput).
	in := scheduler.Input{Nodes: nodes, FromAllocated: true}
	var requests []scheduler.Request
	var pending []*orchpb.Replica
	for _, g := range groups {
		for _, rep := range g.reps {
			if rep.Desired() == orchpb.DesiredStopped && removable(rep, nodeByID) {
				ch.Delete = append(ch.Delete, rep.GetId())
			}
		}
		if g.svc == nil {
			// Replicas of a deleted service: the store stops them on
			// delete; this catches any that slipped through.
			for _, rep := range g.reps {
				if rep.Desired() == orchpb.DesiredRunning {
					ch.update(rep, stopped(rep, "service deleted"))
				}
			}
			continue
		}
		var unplaced []*orchpb.Replica
		if g.svc.GetSpec().IsJob() {
			unplaced = reconcileJob(ch, g.svc, g.reps, env)
		} else if g.svc.GetSpec().GetMode() == orchpb.ModeGlobal {
			unplaced = reconcileGlobal(ch, g.svc, g.reps, in, env)
		} else {
			unplaced = reconcileReplicated(ch, g.svc, g.reps, nodeByID, volumePins(st, g.svc.GetSpec()), env)
		}
		// One request per spec: a drain replacement keeps the spec of the
		// replica it replaces, which a rollout may have left behind.
		for _, group := range bySpec(unplaced) {
			requests = append(requests, scheduler.Request{Spec: group[0].GetSpec(), Replicas: group, Volumes: volumePins(st, group[0].GetSpec())})
			pending = append(pending, group...)
		}
		if len(unplaced) > 0 {
			ch.Placing = append(ch.Placing, g.key)
		}
	}
	if len(requests) == 0 {
		return ch
	}
	// Higher priorities are placed first: room freed for one (preemption
	// included) must not go to a lower one in the same plan.
	slices.SortStableFunc(requests, func(a, b scheduler.Request) int {
		return cmp.Compare(b.Spec.GetPriority(), a.Spec.GetPriority())
	})
	everything := all()
	in.Replicas = placementReplicas(everything, requests)
	plan := place(ch, in, requests, pending)
	preempt(ch, st, nodes, everything, plan, requests, pending)
	return ch
}

// bySpec groups replicas by generation, keeping first-seen order.
func bySpec(reps []*orchpb.Replica) [][]*orchpb.Replica {
	var out [][]*orchpb.Replica
	index := map[uint64]int{}
	for _, rep := range reps {
		i, ok := index[rep.GetGeneration()]
		if !ok {
			i = len(out)
			index[rep.GetGeneration()] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], rep)
	}
	return out
}

// removable: a replica marked stopped may be forgotten once no agent can
// still be running it.
func removable(rep *orchpb.Replica, nodes map[string]*orchpb.Node) bool {
	if rep.GetNode() == "" {
		return true
	}
	switch rep.Observed() {
	case orchpb.ReplicaStopped, orchpb.ReplicaFailed, orchpb.ReplicaLost, orchpb.ReplicaPending:
		return true
	}
	n := nodes[rep.GetNode()]
	return n == nil || n.Status() == orchpb.NodeDown
}

// holding are the replicas that hold resources on their nodes.
func holding(all []*orchpb.Replica) []*orchpb.Replica {
	out := make([]*orchpb.Replica, 0, len(all))
	for _, rep := range all {
		if rep.GetNode() != "" && rep.Desired() == orchpb.DesiredRunning && !rep.Terminal() {
			out = append(out, rep)
		}
	}
	return out
}

// failedRun is a job's run that failed on its node, of a job whose
// placement counts runs per node only for spread (a maxPerNode or an
// antiAffinity would turn the preference into a ban).
func failedRun(rep *orchpb.Replica) bool {
	// Most replicas are a service's: answered before RunEnded, which a
	// pass would otherwise compute for every replica of the cluster.
	if !rep.GetSpec().IsJob() || rep.GetNode() == "" || rep.Desired() != orchpb.DesiredRunning {
		return false
	}
	ended, succeeded := rep.RunEnded()
	p := rep.GetSpec().GetPlacement()
	return ended && !succeeded && p.GetMaxPerNode() == 0 && len(p.GetAntiAffinity()) == 0
}

// failedRunMark stands for a failed run in a plan that places its job's
// next runs: spread counts it on its node, so a new run prefers another
// node; it holds nothing there (no host port, no device).
func failedRunMark(rep *orchpb.Replica) *orchpb.Replica {
	c := store.CopyReplica(rep)
	c.HostPorts, c.Devices = nil, nil
	return c
}

// placementReplicas are the replicas a plan from Allocated still needs:
// those holding host ports or devices, those of the services being placed
// (for spread and maxPerNode; with their failed job runs, so that a new
// run prefers another node), of the services their affinity and
// antiAffinity name, and those whose antiAffinity names them.
func placementReplicas(all []*orchpb.Replica, requests []scheduler.Request) []*orchpb.Replica {
	placing := make(map[[2]string]bool, len(requests))
	own := make(map[[2]string]bool, len(requests))
	for _, r := range requests {
		own[[2]string{r.Spec.GetNamespace(), r.Spec.GetName()}] = true
		placing[[2]string{r.Spec.GetNamespace(), r.Spec.GetName()}] = true
		for _, k := range scheduler.RelatedServices(r.Spec) {
			placing[k] = true
		}
	}
	var out []*orchpb.Replica
	for _, rep := range all {
		if failedRun(rep) && own[[2]string{rep.GetNamespace(), rep.GetService()}] {
			out = append(out, failedRunMark(rep))
			continue
		}
		if rep.GetNode() == "" || rep.Desired() != orchpb.DesiredRunning || rep.Terminal() {
			continue
		}
		if len(rep.GetHostPorts()) > 0 || len(rep.GetDevices()) > 0 || scheduler.Repels(rep, own) || placing[[2]string{rep.GetNamespace(), rep.GetService()}] {
			out = append(out, rep)
		}
	}
	return out
}

// failedForGood is a replica the agent will not bring back by itself.
func failedForGood(rep *orchpb.Replica) bool {
	switch rep.Observed() {
	case orchpb.ReplicaFailed, orchpb.ReplicaLost, orchpb.ReplicaStopped:
		return true
	}
	return false
}

// completed is a replica that ran and ended as its restart policy wants
// (`never`, or `on-failure` after a clean exit): it keeps its slot and its
// exit code instead of being replaced, so `restart: never` leaves a failed
// replica failed. A replica that never started is still replaced, since
// another node may run it.
func completed(rep *orchpb.Replica) bool {
	if rep.GetStartedAt() == 0 {
		return false
	}
	switch rep.GetSpec().GetRestart().PolicyOrDefault() {
	case orchpb.RestartNever:
		return rep.Observed() == orchpb.ReplicaFailed || rep.Observed() == orchpb.ReplicaStopped
	case orchpb.RestartOnFailure:
		return rep.Observed() == orchpb.ReplicaStopped
	}
	return false
}

func newReplica(svc *orchpb.Service, slot int32, id string) *orchpb.Replica {
	return replicaOf(svc.GetSpec(), svc.GetGeneration(), slot, id)
}

// replicaOf is a new, unplaced replica of one generation's spec.
func replicaOf(spec *orchpb.ServiceSpec, gen uint64, slot int32, id string) *orchpb.Replica {
	rep := &orchpb.Replica{
		Id:                 id,
		Namespace:          spec.GetNamespace(),
		Service:            spec.GetName(),
		Slot:               slot,
		Name:               fmt.Sprintf("%s.%d", spec.GetName(), slot),
		DesiredState:       string(orchpb.DesiredRunning),
		State:              string(orchpb.ReplicaPending),
		Generation:         gen,
		Resources:          manifest.Requests(spec),
		ContainerResources: manifest.ContainerRequests(spec),
		Spec:               spec,
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
	c.SetDesired(orchpb.DesiredStopped)
	if c.GetMessage() == "" || !failedForGood(rep) {
		c.Message = why
	}
	return c
}

// place runs the scheduler over the pending replicas and records the plan:
// placements become `assigned`, the rest carry the scheduler's reason.
func place(ch *Changes, in scheduler.Input, requests []scheduler.Request, pending []*orchpb.Replica) scheduler.Plan {
	plan := scheduler.Schedule(in, requests)
	byID := make(map[string]*orchpb.Replica, len(pending))
	for _, rep := range pending {
		byID[rep.GetId()] = rep
	}
	written := make(map[string]bool, len(pending))
	for _, p := range plan.Placements {
		rep := byID[p.ReplicaID]
		if rep == nil {
			continue
		}
		c := proto.Clone(rep).(*orchpb.Replica)
		c.Node = p.NodeID
		c.Devices = plan.Devices[p.ReplicaID]
		c.SetObserved(orchpb.ReplicaAssigned)
		c.Message = ""
		putOrUpdate(ch, rep, c)
		written[rep.GetId()] = true
	}
	for _, u := range plan.Unplaced {
		rep := byID[u.ReplicaID]
		if rep == nil {
			continue
		}
		if rep.GetVersion() != 0 && rep.GetMessage() == u.Reason {
			continue // already says so; do not write the same thing again
		}
		if rep.GetVersion() == 0 && rep.GetNode() != "" {
			// A global replica for a node without room: storing it
			// unplaced would only unpin it. The next pass tries again.
			written[rep.GetId()] = true
			ch.Unplaceable = append(ch.Unplaceable, Unplaceable{Namespace: rep.GetNamespace(), Service: rep.GetService(),
				Replica: rep.DisplayName(), Reason: u.Reason})
			continue
		}
		c := proto.Clone(rep).(*orchpb.Replica)
		c.Message = u.Reason
		putOrUpdate(ch, rep, c)
		written[rep.GetId()] = true
	}
	// New replicas nobody wrote yet (there was no plan entry) still need storing.
	for _, rep := range pending {
		if rep.GetVersion() == 0 && !written[rep.GetId()] {
			ch.Put = append(ch.Put, rep)
		}
	}
	return plan
}

func putOrUpdate(ch *Changes, old, updated *orchpb.Replica) {
	if old.GetVersion() == 0 {
		ch.Put = append(ch.Put, updated)
		return
	}
	ch.update(old, updated)
}
