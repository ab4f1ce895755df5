package scheduler

import (
	"fmt"

	orchpb "github.com/orch-io/orch/proto"
)

// filter is one feasibility test (swarmkit style). check reports whether
// node i can take one more replica of the class being placed; explain turns
// the number of nodes that failed it into a phrase of the unplaced reason,
// such as "3 lack memory (need 2Gi)". A node is counted under the first
// filter it fails, so the order of a filter list is the order of blame.
type filter interface {
	check(i int32) bool
	explain(n int) string
}

// staticFilters are the tests that depend only on the node and the spec, so
// they are evaluated once per request: state first, then constraints.
func staticFilters(v *view, spec *orchpb.ServiceSpec) []filter {
	fs := []filter{
		stateFilter{v, orchpb.NodeDown},
		stateFilter{v, orchpb.NodeDraining},
		stateFilter{v, orchpb.NodeCordoned},
		readyFilter{v},
	}
	for _, expr := range spec.GetPlacement().GetConstraints() {
		c, err := ParseConstraint(expr)
		if err != nil {
			fs = append(fs, badConstraintFilter{expr})
			continue
		}
		fs = append(fs, constraintFilter{v, c})
	}
	return fs
}

// dynamicFilters are the tests that placements change: resources, host
// ports, maxPerNode. A zero request is no test at all, so a node already
// over-committed by a stale view still takes replicas that need nothing.
func dynamicFilters(v *view, c *class, maxPerNode int32, count []int32) []filter {
	var fs []filter
	if c.cpu > 0 {
		fs = append(fs, cpuFilter{v, c.cpu})
	}
	if c.mem > 0 {
		fs = append(fs, memoryFilter{v, c.mem})
	}
	for _, p := range c.ports {
		fs = append(fs, portFilter{v, p})
	}
	if maxPerNode > 0 {
		fs = append(fs, maxPerNodeFilter{count, maxPerNode})
	}
	return fs
}

// firstFail returns the index of the first filter in fs that node i fails,
// plus offset, or -1 when it passes them all.
func firstFail(fs []filter, i int32, offset int) int {
	for k, f := range fs {
		if !f.check(i) {
			return offset + k
		}
	}
	return -1
}

// verb picks the singular or plural form for a count of nodes.
func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// stateFilter rejects nodes in one named state, so the reason can say which.
type stateFilter struct {
	v     *view
	state orchpb.NodeState
}

func (f stateFilter) check(i int32) bool   { return f.v.nodes[i].Status() != f.state }
func (f stateFilter) explain(n int) string { return fmt.Sprintf("%d %s", n, f.state) }

// readyFilter rejects every other state that is not ready (unknown or unset).
type readyFilter struct{ v *view }

func (f readyFilter) check(i int32) bool   { return f.v.nodes[i].Status() == orchpb.NodeReady }
func (f readyFilter) explain(n int) string { return fmt.Sprintf("%d not ready", n) }

type constraintFilter struct {
	v *view
	c Constraint
}

func (f constraintFilter) check(i int32) bool { return f.c.Matches(f.v.nodes[i]) }
func (f constraintFilter) explain(n int) string {
	return fmt.Sprintf("%d %s %s", n, verb(n, "fails", "fail"), f.c)
}

// badConstraintFilter stands for an expression that does not parse. The API
// rejects those before they are stored, so this only keeps a bad spec from
// being placed as if it had no constraint.
type badConstraintFilter struct{ expr string }

func (badConstraintFilter) check(int32) bool { return false }
func (f badConstraintFilter) explain(n int) string {
	return fmt.Sprintf("%d %s invalid constraint %q", n, verb(n, "fails", "fail"), f.expr)
}

type cpuFilter struct {
	v    *view
	need int64
}

func (f cpuFilter) check(i int32) bool {
	return f.v.cpu[i]+f.need <= f.v.capCPU[i]
}
func (f cpuFilter) explain(n int) string {
	return fmt.Sprintf("%d %s cpu (need %s)", n, verb(n, "lacks", "lack"), FormatCPU(f.need))
}

type memoryFilter struct {
	v    *view
	need int64
}

func (f memoryFilter) check(i int32) bool {
	return f.v.mem[i]+f.need <= f.v.capMem[i]
}
func (f memoryFilter) explain(n int) string {
	return fmt.Sprintf("%d %s memory (need %s)", n, verb(n, "lacks", "lack"), FormatMemory(f.need))
}

type portFilter struct {
	v    *view
	port int32
}

func (f portFilter) check(i int32) bool {
	_, used := f.v.ports[i][f.port]
	return !used
}
func (f portFilter) explain(n int) string {
	return fmt.Sprintf("%d %s port %d in use", n, verb(n, "has", "have"), f.port)
}

// maxPerNodeFilter caps this service's replicas on one node.
type maxPerNodeFilter struct {
	count []int32
	max   int32
}

func (f maxPerNodeFilter) check(i int32) bool   { return f.count[i] < f.max }
func (f maxPerNodeFilter) explain(n int) string { return fmt.Sprintf("%d at maxPerNode %d", n, f.max) }
