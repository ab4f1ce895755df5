package controllers

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/orch-io/orch/scheduler"
)

// Plan is the dry run behind POST /v1/plan: for each spec, in order, what
// would change and where the replicas it needs would go, computed on a
// scratch copy of st so that nothing is written. Specs are planned one
// after another on the same copy, so a manifest of several services sees
// its own earlier placements. For an update it shows the steady state: the
// old generation's replicas are released, as they will be once the
// rolling update is done.
func Plan(st *store.Store, specs []*orchpb.ServiceSpec) ([]api.Plan, error) {
	scratch := store.New(store.WithWatchRing(16))
	// Stored objects are immutable, so the copy may share them.
	scratch.Restore(st.Snapshot())
	index := scratch.Index()
	apply := func(cmd *orchpb.Command) *orchpb.CommandResult {
		index++
		return scratch.Apply(index, cmd)
	}
	ids := 0
	env := Env{NewID: func() string { ids++; return fmt.Sprintf("plan-%d", ids) }}
	var out []api.Plan
	for _, spec := range specs {
		ns, name := spec.GetNamespace(), spec.GetName()
		old := scratch.Service(ns, name)
		put := &orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{Spec: spec}}}
		if spec.IsJob() {
			// A job's first runs, up to its parallelism, are what it places.
			put = &orchpb.Command{Op: &orchpb.Command_PutJob{PutJob: &orchpb.PutJob{Spec: spec}}}
		}
		res := apply(put)
		if res.GetErrorCode() != "" {
			return nil, fmt.Errorf("controllers: plan %s/%s: %s", ns, name, res.GetError())
		}
		svc := scratch.Service(ns, name)
		p := api.Plan{Namespace: ns, Name: name, Generation: svc.GetGeneration()}
		var err error
		if p.Diff, err = specDiff(old.GetSpec(), spec); err != nil {
			return nil, err
		}
		switch {
		case old == nil:
			p.Action = api.PlanCreate
		case svc.GetGeneration() != old.GetGeneration():
			p.Action = api.PlanUpdate
			p.Rollout = rolloutText(spec)
			releaseOld(scratch, apply, svc)
		case len(p.Diff) > 0:
			p.Action = api.PlanScale
		default:
			p.Action = api.PlanUnchanged
		}
		ch := Reconcile(scratch, env)
		var mine, victims []*orchpb.Replica
		for _, rep := range ch.Put {
			if rep.GetVersion() != 0 && rep.GetMessage() == orchpb.PreemptedBy+name && rep.Desired() == orchpb.DesiredStopped {
				victims = append(victims, rep)
				p.Preempts = append(p.Preempts, api.PlanPlacement{Replica: rep.DisplayName(), Node: nodeName(scratch, rep.GetNode())})
			}
			if rep.GetNamespace() != ns || rep.GetService() != name || rep.GetVersion() != 0 {
				continue
			}
			mine = append(mine, rep)
			if rep.GetNode() != "" {
				p.Placements = append(p.Placements, api.PlanPlacement{Replica: rep.DisplayName(), Node: nodeName(scratch, rep.GetNode())})
			} else {
				p.Unplaced = append(p.Unplaced, api.PlanUnplaced{Replica: rep.DisplayName(), Reason: rep.GetMessage()})
			}
		}
		for _, u := range ch.Unplaceable {
			if u.Service == name && u.Namespace == ns {
				p.Unplaced = append(p.Unplaced, api.PlanUnplaced{Replica: u.Replica, Reason: u.Reason})
			}
		}
		if len(mine) > 0 {
			// The victims first, as the controller writes them, so that
			// the room they free is there for the next spec too.
			apply(&orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: append(victims, mine...)}}})
		}
		in := scheduler.Input{Nodes: scratch.Nodes(), Replicas: holding(scratch.Replicas(store.ReplicaFilter{}))}
		p.Summary = scheduler.Explain(in, scheduler.Request{Spec: spec, Replicas: []*orchpb.Replica{newReplica(svc, 0, "plan-probe")}})
		out = append(out, p)
	}
	return out, nil
}

// releaseOld stops the service's replicas of older generations in the
// scratch store, as the finished rollout will have.
func releaseOld(scratch *store.Store, apply func(*orchpb.Command) *orchpb.CommandResult, svc *orchpb.Service) {
	var stop []*orchpb.Replica
	for _, rep := range scratch.Replicas(store.ReplicaFilter{Namespace: svc.GetSpec().GetNamespace(), Service: svc.GetSpec().GetName()}) {
		if rep.Desired() == orchpb.DesiredRunning && rep.GetGeneration() != svc.GetGeneration() {
			gone := stopped(rep, "plan")
			gone.SetObserved(orchpb.ReplicaStopped)
			stop = append(stop, gone)
		}
	}
	if len(stop) > 0 {
		apply(&orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: stop}}})
	}
}

func nodeName(st *store.Store, id string) string {
	if n := st.Node(id); n != nil {
		return n.GetName()
	}
	return id
}

func rolloutText(spec *orchpb.ServiceSpec) string {
	p := policyOf(spec)
	s := fmt.Sprintf("rolling update: at most %d extra and %d unavailable at a time", p.surge, p.unavailable)
	if p.minHealthy > 0 {
		s += fmt.Sprintf(", each new replica healthy for %s", p.minHealthy)
	}
	s += fmt.Sprintf("; a replica not there within %s fails the update", p.deadline)
	if p.rollback {
		return s + ", which then rolls back"
	}
	return s + ", which then pauses"
}

// specDiff lists the fields that differ, by path, in the manifest's words.
func specDiff(old, updated *orchpb.ServiceSpec) ([]api.PlanChange, error) {
	a, err := flatSpec(old)
	if err != nil {
		return nil, err
	}
	b, err := flatSpec(updated)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, nil // a creation: every field is new, which says nothing
	}
	var out []api.PlanChange
	for k, v := range b {
		if a[k] != v {
			out = append(out, api.PlanChange{Field: k, Old: a[k], New: v})
		}
	}
	for k, v := range a {
		if _, ok := b[k]; !ok {
			out = append(out, api.PlanChange{Field: k, Old: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out, nil
}

func flatSpec(spec *orchpb.ServiceSpec) (map[string]string, error) {
	out := map[string]string{}
	if spec == nil {
		return out, nil
	}
	raw, err := api.MarshalSpec(spec)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("controllers: plan diff: %w", err)
	}
	flatten("", v, out)
	return out, nil
}

func flatten(path string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			flatten(p, e, out)
		}
	case []any:
		for i, e := range x {
			flatten(fmt.Sprintf("%s[%d]", path, i), e, out)
		}
	case string:
		out[path] = x
	default:
		b, _ := json.Marshal(x)
		out[path] = string(b)
	}
}
