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
// from Allocated must list their replicas in Input.Replicas.
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
	return append(fs, deviceFilters(v, c.devices)...)
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
