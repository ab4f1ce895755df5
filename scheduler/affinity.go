package scheduler

import (
	"fmt"

	orchpb "github.com/orch-io/orch/proto"
)

// Affinity and anti-affinity between services at node scope. They read the
// view's per-node count of the named service, which placements keep
// current, so they are dynamic filters: a replica placed earlier in the
// same plan counts (anti-affinity with itself is how "one per node" holds
// inside one plan).

// trackRelated makes the view count, per node, the replicas of every
// service r's spec names in affinity or antiAffinity.
func (v *view) trackRelated(r Request) {
	for _, key := range relatedServices(r.Spec, serviceOf(r)) {
		if _, ok := v.perNode[key]; !ok {
			v.perNode[key] = make(map[int32]int32)
		}
	}
}

// relatedServices are the services spec's affinity and antiAffinity name,
// in spec's own namespace.
func relatedServices(spec *orchpb.ServiceSpec, svc serviceKey) []serviceKey {
	var out []serviceKey
	for _, a := range spec.GetPlacement().GetAffinity() {
		out = append(out, serviceKey{svc.namespace, a.GetService()})
	}
	for _, a := range spec.GetPlacement().GetAntiAffinity() {
		out = append(out, serviceKey{svc.namespace, a.GetService()})
	}
	return out
}

// RelatedServices names the services a spec's placement depends on (its
// affinity and antiAffinity), as namespace and name: a caller planning
// from Allocated must list their replicas in Input.Replicas, and those of
// any service whose antiAffinity names it (Repels).
func RelatedServices(spec *orchpb.ServiceSpec) [][2]string {
	var out [][2]string
	for _, k := range relatedServices(spec, serviceKey{spec.GetNamespace(), spec.GetName()}) {
		out = append(out, [2]string{k.namespace, k.name})
	}
	return out
}

// relationFilters are spec's affinity, anti-affinity and device tests,
// in that order of blame.
func relationFilters(v *view, spec *orchpb.ServiceSpec, svc serviceKey, c *class) []filter {
	var fs []filter
	for _, a := range spec.GetPlacement().GetAffinity() {
		fs = append(fs, affinityFilter{v.perNode[serviceKey{svc.namespace, a.GetService()}], a.GetService()})
	}
	for _, a := range spec.GetPlacement().GetAntiAffinity() {
		fs = append(fs, antiAffinityFilter{v.perNode[serviceKey{svc.namespace, a.GetService()}], a.GetService()})
	}
	if m := v.repel[svc]; len(m) > 0 {
		fs = append(fs, repelFilter{m, svc.name})
	}
	return append(fs, deviceFilters(v, c.devices)...)
}

// repelled are the services other than svc that spec's antiAffinity names.
func repelled(spec *orchpb.ServiceSpec, svc serviceKey) []serviceKey {
	var out []serviceKey
	for _, a := range spec.GetPlacement().GetAntiAffinity() {
		if a.GetService() != svc.name {
			out = append(out, serviceKey{svc.namespace, a.GetService()})
		}
	}
	return out
}

// holdRepels records on node i a replica whose antiAffinity names the
// services keys, for those being placed.
func (v *view) holdRepels(i int32, keys []serviceKey) {
	for _, k := range keys {
		if !v.placing[k] {
			continue
		}
		if v.repel[k] == nil {
			v.repel[k] = make(map[int32]int32)
		}
		v.repel[k][i]++
	}
}

// repelFilter keeps the nodes where no replica's antiAffinity names the
// service being placed.
type repelFilter struct {
	count   map[int32]int32
	service string
}

func (f repelFilter) check(i int32) bool { return f.count[i] == 0 }
func (f repelFilter) explain(n int) string {
	return fmt.Sprintf("%d %s a replica whose antiAffinity names %s", n, verb(n, "runs", "run"), f.service)
}

// affinityFilter keeps the nodes running a replica of one service.
type affinityFilter struct {
	count   map[int32]int32
	service string
}

func (f affinityFilter) check(i int32) bool { return f.count[i] > 0 }
func (f affinityFilter) explain(n int) string {
	return fmt.Sprintf("%d %s no replica of %s (affinity)", n, verb(n, "runs", "run"), f.service)
}

// antiAffinityFilter keeps the nodes running no replica of one service.
type antiAffinityFilter struct {
	count   map[int32]int32
	service string
}

func (f antiAffinityFilter) check(i int32) bool { return f.count[i] == 0 }
func (f antiAffinityFilter) explain(n int) string {
	return fmt.Sprintf("%d %s a replica of %s (antiAffinity)", n, verb(n, "runs", "run"), f.service)
}

// Repels reports whether rep's spec has an antiAffinity naming one of
// services (namespace and name) other than its own: a caller planning
// those from Allocated must list rep in Input.Replicas.
func Repels(rep *orchpb.Replica, services map[[2]string]bool) bool {
	for _, a := range rep.GetSpec().GetPlacement().GetAntiAffinity() {
		if a.GetService() != rep.GetService() && services[[2]string{rep.GetNamespace(), a.GetService()}] {
			return true
		}
	}
	return false
}
