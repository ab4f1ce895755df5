package scheduler

import (
	orchpb "github.com/orch-io/orch/proto"
)

// group is the set of nodes sharing one value of the spreadBy label (all
// nodes, when there is no spreadBy). Nodes without the label share the
// value "".
type group struct {
	value string
	// count is this service's replicas on every node of the group, feasible
	// or not: balance is about where replicas are, not where they could go.
	count int32
	nodes minHeap[int32] // feasible nodes, best first
}

// selector picks the node for the next replica of a class: the least loaded
// group first, then the best node inside it by the strategy. Both orders are
// total (ties end at the group's value and the node's name/id rank), which
// makes plans deterministic.
type selector struct {
	groups minHeap[*group] // groups with at least one feasible node
}

// newSelector builds the heaps from the nodes that passed every filter
// (fail[i] < 0). count is this service's replicas per node; it is read on
// every comparison, so the caller must update it before calling placed.
func newSelector(v *view, spec *orchpb.ServiceSpec, count []int32, fail []int) *selector {
	less := spreadLess(v, count)
	if spec.GetPlacement().GetStrategy() == orchpb.StrategyBinpack {
		less = binpackLess(v)
	}
	grouping := v.groupingBy(spec.GetPlacement().GetSpreadBy())
	groups := make([]group, len(grouping.values))
	for k := range groups {
		groups[k] = group{value: grouping.values[k], nodes: minHeap[int32]{less: less}}
	}
	// Size, then fill, so the groups' heaps share one reused buffer.
	sizes := make([]int, len(groups))
	for i, k := range grouping.of {
		groups[k].count += count[i]
		if fail[i] < 0 {
			sizes[k]++
		}
	}
	if v.heapBuf == nil {
		v.heapBuf = make([]int32, len(v.nodes))
	}
	next := 0
	for k := range groups {
		groups[k].nodes.items = v.heapBuf[next : next : next+sizes[k]]
		next += sizes[k]
	}
	for i, k := range grouping.of {
		if fail[i] < 0 {
			groups[k].nodes.items = append(groups[k].nodes.items, int32(i))
		}
	}
	s := &selector{groups: minHeap[*group]{less: func(a, b *group) bool {
		if a.count != b.count {
			return a.count < b.count
		}
		return a.value < b.value
	}}}
	for k := range groups {
		if g := &groups[k]; g.nodes.len() > 0 {
			g.nodes.init()
			s.groups.items = append(s.groups.items, g)
		}
	}
	s.groups.init()
	return s
}

// spreadLess prefers the node with the fewest replicas of this service,
// then the one with the most free resources.
func spreadLess(v *view, count []int32) func(a, b int32) bool {
	return func(a, b int32) bool {
		if count[a] != count[b] {
			return count[a] < count[b]
		}
		if fa, fb := v.free(a), v.free(b); fa != fb {
			return fa > fb
		}
		return a < b
	}
}

// binpackLess prefers the fullest node, to keep others empty.
func binpackLess(v *view) func(a, b int32) bool {
	return func(a, b int32) bool {
		if fa, fb := v.free(a), v.free(b); fa != fb {
			return fa < fb
		}
		return a < b
	}
}

// best returns the node the next replica goes to, and its group.
func (s *selector) best() (*group, int32, bool) {
	if s.groups.len() == 0 {
		return nil, 0, false
	}
	g := s.groups.top()
	return g, g.nodes.top(), true
}

// placed updates the heaps after a replica went to the node best returned.
// Only that node and its group changed, so only they move.
func (s *selector) placed(g *group, stillFeasible bool) {
	g.count++
	if stillFeasible {
		g.nodes.fixTop()
	} else {
		g.nodes.popTop()
	}
	if g.nodes.len() == 0 {
		s.groups.popTop()
	} else {
		s.groups.fixTop()
	}
}
