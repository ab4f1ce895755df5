package scheduler

import (
	"cmp"
	"slices"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
)

// view is the plan's working copy of the cluster: what Input says is held on
// each node, plus what this plan has placed so far. Nodes are kept in name,
// then id order, so a node's index is also its tie-break rank.
type view struct {
	nodes []*orchpb.Node
	byID  map[string]int32
	cpu   []int64 // millicores held per node
	mem   []int64 // bytes held per node
	// capCPU and capMem copy the nodes' capacity, read on every check.
	capCPU, capMem []int64
	// ports holds the host ports in use per node; nil for nodes with none.
	ports []map[int32]struct{}
	// devUsed holds the device paths in use per node; nil for nodes with
	// none, and as a whole until some replica holds a device.
	devUsed []map[string]struct{}
	// freeShare caches free(i), which scoring reads on every comparison.
	freeShare []float64
	// perNode counts replicas per node, only for the services being placed
	// (sparse: most nodes run none of a given service).
	perNode map[serviceKey]map[int32]int32
	// repel counts, per service being placed and node, the replicas of
	// other services whose antiAffinity names it: anti-affinity binds both
	// ways, so a service never lands beside one that avoids it.
	repel map[serviceKey]map[int32]int32
	// placing are the services of the requests.
	placing map[serviceKey]bool

	// Node state and labels do not change during a plan, so what depends
	// only on them is computed once per plan and shared by every request
	// with the same constraints or spreadBy: equivalence classes across
	// services, not only inside one.
	staticFail map[string][]int     // by constraints, see staticFailures
	groupings  map[string]*grouping // by spreadBy label

	// Buffers reused by one class after another, so a plan of many small
	// requests does not allocate per node per request.
	countBuf []int32
	failBuf  []int
	heapBuf  []int32
}

// grouping splits the nodes by their value of a spreadBy label.
type grouping struct {
	values []string // in order of first appearance among the sorted nodes
	of     []int32  // index into values, per node
}

type serviceKey struct{ namespace, name string }

func newView(in Input, reqs []Request) *view {
	nodes := make([]*orchpb.Node, 0, len(in.Nodes))
	for _, n := range in.Nodes {
		if n != nil {
			nodes = append(nodes, n)
		}
	}
	slices.SortStableFunc(nodes, func(a, b *orchpb.Node) int {
		return cmp.Or(strings.Compare(a.GetName(), b.GetName()), strings.Compare(a.GetId(), b.GetId()))
	})
	v := &view{
		nodes:   nodes,
		byID:    make(map[string]int32, len(nodes)),
		cpu:     make([]int64, len(nodes)),
		mem:     make([]int64, len(nodes)),
		capCPU:  make([]int64, len(nodes)),
		capMem:  make([]int64, len(nodes)),
		ports:   make([]map[int32]struct{}, len(nodes)),
		perNode: make(map[serviceKey]map[int32]int32, len(reqs)),
		repel:   make(map[serviceKey]map[int32]int32),
		placing: make(map[serviceKey]bool, len(reqs)),

		freeShare:  make([]float64, len(nodes)),
		staticFail: make(map[string][]int),
		groupings:  make(map[string]*grouping),
	}
	for i, n := range nodes {
		v.capCPU[i] = n.GetCapacity().GetCpuMillis()
		v.capMem[i] = n.GetCapacity().GetMemoryBytes()
		if in.FromAllocated {
			v.cpu[i] = n.GetAllocated().GetCpuMillis()
			v.mem[i] = n.GetAllocated().GetMemoryBytes()
		}
		if _, dup := v.byID[n.GetId()]; !dup {
			v.byID[n.GetId()] = int32(i)
		}
	}
	placing := make(map[string]bool)
	for _, r := range reqs {
		v.perNode[serviceOf(r)] = make(map[int32]int32)
		v.placing[serviceOf(r)] = true
		v.trackRelated(r)
		for _, rep := range r.Replicas {
			if rep.GetId() != "" {
				placing[rep.GetId()] = true
			}
		}
	}
	for _, r := range in.Replicas {
		if r.GetNode() == "" || placing[r.GetId()] {
			continue
		}
		i, ok := v.byID[r.GetNode()]
		if !ok {
			continue // its node is gone; nothing to hold resources on
		}
		cpu, mem := r.GetResources().GetCpuMillis(), r.GetResources().GetMemoryBytes()
		if in.FromAllocated {
			cpu, mem = 0, 0 // already in the node's Allocated
		}
		v.hold(i, serviceKey{r.GetNamespace(), r.GetService()}, cpu, mem, r.GetHostPorts())
		v.holdDevices(i, r.GetDevices())
		v.holdRepels(i, repelled(r.GetSpec(), serviceKey{r.GetNamespace(), r.GetService()}))
	}
	for i := range v.freeShare {
		v.freeShare[i] = v.computeFree(int32(i))
	}
	return v
}

// serviceOf names the service a request places, from its spec or, when the
// spec leaves it out, from its first replica.
func serviceOf(r Request) serviceKey {
	if r.Spec.GetName() != "" {
		return serviceKey{r.Spec.GetNamespace(), r.Spec.GetName()}
	}
	if len(r.Replicas) > 0 {
		return serviceKey{r.Replicas[0].GetNamespace(), r.Replicas[0].GetService()}
	}
	return serviceKey{}
}

// hold records a replica of svc on node i.
func (v *view) hold(i int32, svc serviceKey, cpu, mem int64, ports []int32) {
	v.cpu[i] += cpu
	v.mem[i] += mem
	for _, p := range ports {
		if p <= 0 {
			continue
		}
		if v.ports[i] == nil {
			v.ports[i] = make(map[int32]struct{}, 1)
		}
		v.ports[i][p] = struct{}{}
	}
	if m, ok := v.perNode[svc]; ok {
		m[i]++
	}
	v.freeShare[i] = v.computeFree(i)
}

// counts returns a dense copy of svc's replicas per node, for scoring. The
// slice is reused by the next call.
func (v *view) counts(svc serviceKey) []int32 {
	if v.countBuf == nil {
		v.countBuf = make([]int32, len(v.nodes))
	}
	c := v.countBuf
	clear(c)
	for i, n := range v.perNode[svc] {
		c[i] = n
	}
	return c
}

// free is the node's unheld share of cpu plus that of memory (0 to 2);
// a dimension with no capacity adds nothing.
func (v *view) free(i int32) float64 { return v.freeShare[i] }

func (v *view) computeFree(i int32) float64 {
	var f float64
	if c := v.capCPU[i]; c > 0 {
		f += float64(c-v.cpu[i]) / float64(c)
	}
	if m := v.capMem[i]; m > 0 {
		f += float64(m-v.mem[i]) / float64(m)
	}
	return f
}

// staticFailures returns, per node, the first of statics it fails (-1 for
// none), computed once per plan for each distinct constraint list.
func (v *view) staticFailures(spec *orchpb.ServiceSpec, statics []filter) []int {
	key := strings.Join(spec.GetPlacement().GetConstraints(), "\x00")
	if f, ok := v.staticFail[key]; ok {
		return f
	}
	f := make([]int, len(v.nodes))
	for i := range f {
		f[i] = firstFail(statics, int32(i), 0)
	}
	v.staticFail[key] = f
	return f
}

// groupingBy groups the nodes by their value of label (nodes without it
// share ""); with no label, all nodes form one group.
func (v *view) groupingBy(label string) *grouping {
	if g, ok := v.groupings[label]; ok {
		return g
	}
	g := &grouping{of: make([]int32, len(v.nodes))}
	index := make(map[string]int32)
	for i, n := range v.nodes {
		value := ""
		if label != "" {
			value, _ = nodeAttr(n, label)
		}
		k, ok := index[value]
		if !ok {
			k = int32(len(g.values))
			index[value] = k
			g.values = append(g.values, value)
		}
		g.of[i] = k
	}
	v.groupings[label] = g
	return g
}

// failures returns a per-node buffer for a class's first failed filter,
// reused by the next call.
func (v *view) failures() []int {
	if v.failBuf == nil {
		v.failBuf = make([]int, len(v.nodes))
	}
	return v.failBuf
}
