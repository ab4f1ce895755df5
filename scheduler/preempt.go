package scheduler

import (
	"cmp"
	"slices"

	orchpb "github.com/orch-io/orch/proto"
)

// Preemption: when Schedule leaves a replica unplaced, Preempt looks for a
// node where stopping replicas of strictly lower priority makes room.
// Strictly lower is what keeps it from looping: along any chain of
// preemptions priority only falls, so a preempted replica (or its
// replacement) can never preempt its preemptor back, and replicas of
// equal priority never preempt one another.

// ServiceID names a service.
type ServiceID struct{ Namespace, Name string }

// Preemption places one replica by stopping others on its node.
type Preemption struct {
	ReplicaID string
	NodeID    string
	Devices   []*orchpb.DeviceGroup
	// Victims are the ids of the replicas to stop, lowest priority first.
	Victims []string
}

// PreemptInput is what Preempt decides on.
type PreemptInput struct {
	// Nodes as for Schedule.
	Nodes []*orchpb.Node
	// Replicas are every replica holding resources, with Node, Resources,
	// HostPorts, Devices and Spec (for its priority and service) set;
	// FromAllocated does not apply.
	Replicas []*orchpb.Replica
	// Budgets are how many more replicas of each service may be taken down
	// now (disruption budgets); a service without an entry has no budget.
	// Preempt breaks a budget only when no choice keeps them all.
	Budgets map[ServiceID]int32
}

// Preempt makes room, one replica at a time in order, for the replicas of
// reqs (those Schedule left unplaced) whose spec has a priority above 0.
// For each it picks the node needing the fewest budget breaks, then the
// fewest victims, then the lowest victim priorities, then the first node
// by name; victims chosen for one replica are gone for the next. Replicas
// it cannot help are left out of the result. It never modifies its input.
func Preempt(in PreemptInput, reqs []Request) []Preemption {
	nodes := newView(Input{Nodes: in.Nodes}, nil).nodes
	byID := make(map[string]int, len(nodes))
	for i, n := range nodes {
		byID[n.GetId()] = i
	}
	held := make([][]*orchpb.Replica, len(nodes))
	for _, r := range in.Replicas {
		if i, ok := byID[r.GetNode()]; ok {
			held[i] = append(held[i], r)
		}
	}
	budgets := make(map[ServiceID]int32, len(in.Budgets))
	for k, v := range in.Budgets {
		budgets[k] = v
	}
	p := &preempter{nodes: nodes, held: held, budgets: budgets, floor: lowestPriority(in.Replicas)}
	var out []Preemption
	for _, r := range reqs {
		if r.Spec.GetPriority() <= 0 {
			continue // nothing is below the lowest priority
		}
		static := newView(Input{Nodes: nodes}, nil)
		statics := staticFilters(static, r.Spec)
		for _, rep := range r.Replicas {
			if pr, ok := p.place(r, rep, statics); ok {
				out = append(out, pr)
			}
		}
	}
	return out
}

type preempter struct {
	nodes   []*orchpb.Node
	held    [][]*orchpb.Replica // per node, what holds resources there
	budgets map[ServiceID]int32
	// floor is the lowest priority held anywhere: an option of one victim
	// at the floor breaking no budget cannot be beaten (Schedule found no
	// node needing none), so the search stops at the first.
	floor int32
}

func lowestPriority(reps []*orchpb.Replica) int32 {
	if len(reps) == 0 {
		return 0
	}
	m := reps[0].GetSpec().GetPriority()
	for _, r := range reps {
		m = min(m, r.GetSpec().GetPriority())
	}
	return m
}

// option is one node's way of making room.
type option struct {
	node    int
	victims []*orchpb.Replica
	breaks  int
}

func (o option) worse(b option) bool {
	if o.breaks != b.breaks {
		return o.breaks > b.breaks
	}
	if len(o.victims) != len(b.victims) {
		return len(o.victims) > len(b.victims)
	}
	if a, c := maxPriority(o.victims), maxPriority(b.victims); a != c {
		return a > c
	}
	if a, c := sumPriority(o.victims), sumPriority(b.victims); a != c {
		return a > c
	}
	return o.node > b.node
}

func (p *preempter) place(r Request, rep *orchpb.Replica, statics []filter) (Preemption, bool) {
	best := option{node: -1}
	w := wantOf(r.Spec, rep)
	for i := range p.nodes {
		if pin, _ := nodeFor(r, rep); pin != "" && pin != p.nodes[i].GetId() {
			continue // pinned elsewhere
		}
		if firstFail(statics, int32(i), 0) >= 0 {
			continue
		}
		o, ok := p.optionOn(i, w)
		if ok && (best.node < 0 || best.worse(o)) {
			best = o
			if o.breaks == 0 && len(o.victims) == 1 && o.victims[0].GetSpec().GetPriority() == p.floor {
				break
			}
		}
	}
	if best.node < 0 {
		return Preemption{}, false
	}
	gone := map[string]bool{}
	var ids []string
	for _, v := range best.victims {
		gone[v.GetId()] = true
		ids = append(ids, v.GetId())
		if b, ok := p.budgets[serviceIDOf(v)]; ok {
			p.budgets[serviceIDOf(v)] = b - 1
		}
	}
	kept := slices.DeleteFunc(slices.Clone(p.held[best.node]), func(h *orchpb.Replica) bool { return gone[h.GetId()] })
	devs := chooseDevices(p.nodes[best.node], kept, r.Spec.GetPlacement().GetDevices())
	placed := &orchpb.Replica{Id: rep.GetId(), Namespace: r.Spec.GetNamespace(), Service: r.Spec.GetName(),
		Resources: rep.GetResources(), HostPorts: hostPorts(rep, r.Spec), Devices: devs, Spec: r.Spec}
	p.held[best.node] = append(kept, placed)
	return Preemption{ReplicaID: rep.GetId(), NodeID: p.nodes[best.node].GetId(), Devices: devs, Victims: ids}, true
}

// optionOn evicts, in order, the node's replicas of lower priority until
// rep fits, then keeps back every victim the fit does not need.
func (p *preempter) optionOn(i int, w want) (option, bool) {
	spec := w.spec
	prio := spec.GetPriority()
	var cands []*orchpb.Replica
	for _, h := range p.held[i] {
		// A service never preempts itself: a rollout that raised the
		// priority replaces its old replicas by its own rules.
		mine := h.GetNamespace() == spec.GetNamespace() && h.GetService() == spec.GetName()
		if h.GetSpec().GetPriority() < prio && !mine {
			cands = append(cands, h)
		}
	}
	slices.SortStableFunc(cands, func(a, b *orchpb.Replica) int {
		return cmp.Or(
			cmp.Compare(a.GetSpec().GetPriority(), b.GetSpec().GetPriority()),
			cmp.Compare(p.breaksIfStopped(a), p.breaksIfStopped(b)),
			cmp.Compare(b.GetCreateIndex(), a.GetCreateIndex()), // the newest has lost least
			cmp.Compare(a.GetId(), b.GetId()))
	})
	if !w.roomAfterAll(p.nodes[i], p.held[i], cands) {
		return option{}, false
	}
	evicted := map[string]bool{}
	n := 0
	for ; !w.fitsAfter(p.nodes[i], p.held[i], evicted); n++ {
		if n == len(cands) {
			return option{}, false
		}
		evicted[cands[n].GetId()] = true
	}
	// The greedy order may have taken some the fit does not need: keep
	// back each that is not, the most valuable first.
	for k := n - 1; k >= 0; k-- {
		delete(evicted, cands[k].GetId())
		if !w.fitsAfter(p.nodes[i], p.held[i], evicted) {
			evicted[cands[k].GetId()] = true
		}
	}
	o := option{node: i}
	perService := map[ServiceID]int32{}
	for _, c := range cands[:n] {
		if evicted[c.GetId()] {
			o.victims = append(o.victims, c)
			perService[serviceIDOf(c)]++
		}
	}
	for svc, k := range perService {
		if b, ok := p.budgets[svc]; ok && k > b {
			o.breaks += int(k - max(b, 0))
		}
	}
	return o, true
}

// roomAfterAll: evicting every candidate would free cpu and memory
// enough, the cheap test that rules most nodes out without allocating.
func (w want) roomAfterAll(n *orchpb.Node, held, cands []*orchpb.Replica) bool {
	var cpu, mem int64
	for _, h := range held {
		cpu += h.GetResources().GetCpuMillis()
		mem += h.GetResources().GetMemoryBytes()
	}
	for _, c := range cands {
		cpu -= c.GetResources().GetCpuMillis()
		mem -= c.GetResources().GetMemoryBytes()
	}
	return (w.cpu <= 0 || cpu+w.cpu <= n.GetCapacity().GetCpuMillis()) && (w.mem <= 0 || mem+w.mem <= n.GetCapacity().GetMemoryBytes())
}

// breaksIfStopped is 1 when stopping one more replica of r's service
// would break its budget.
func (p *preempter) breaksIfStopped(r *orchpb.Replica) int {
	if b, ok := p.budgets[serviceIDOf(r)]; ok && b <= 0 {
		return 1
	}
	return 0
}

// want is what one pending replica needs of a node, worked out once for
// all the nodes and eviction sets it is tried against.
type want struct {
	spec     *orchpb.ServiceSpec
	cpu, mem int64
	ports    []int32
	// perService: maxPerNode, affinity or antiAffinity make the replicas
	// per service on the node matter.
	perService bool
}

func wantOf(spec *orchpb.ServiceSpec, rep *orchpb.Replica) want {
	pl := spec.GetPlacement()
	return want{spec: spec, cpu: rep.GetResources().GetCpuMillis(), mem: rep.GetResources().GetMemoryBytes(),
		ports:      hostPorts(rep, spec),
		perService: pl.GetMaxPerNode() > 0 || len(pl.GetAffinity()) > 0 || len(pl.GetAntiAffinity()) > 0}
}

// fitsAfter reports whether w fits node n once the replicas in evicted are
// gone from held: resources, anti-affinity naming it, host ports,
// maxPerNode, affinity and antiAffinity, devices. It allocates only for
// the tests the spec asks for.
func (w want) fitsAfter(n *orchpb.Node, held []*orchpb.Replica, evicted map[string]bool) bool {
	var cpu, mem int64
	for _, h := range held {
		if evicted[h.GetId()] {
			continue
		}
		cpu += h.GetResources().GetCpuMillis()
		mem += h.GetResources().GetMemoryBytes()
		if keepsAway(h, w.spec) {
			return false // evicting it would lift that
		}
		for _, port := range w.ports {
			if slices.Contains(h.GetHostPorts(), port) {
				return false
			}
		}
	}
	if w.cpu > 0 && cpu+w.cpu > n.GetCapacity().GetCpuMillis() {
		return false
	}
	if w.mem > 0 && mem+w.mem > n.GetCapacity().GetMemoryBytes() {
		return false
	}
	pl := w.spec.GetPlacement()
	if w.perService {
		perService := map[string]int32{}
		for _, h := range held {
			if !evicted[h.GetId()] && h.GetNamespace() == w.spec.GetNamespace() {
				perService[h.GetService()]++
			}
		}
		if m := pl.GetMaxPerNode(); m > 0 && perService[w.spec.GetName()] >= m {
			return false
		}
		for _, a := range pl.GetAffinity() {
			if perService[a.GetService()] == 0 {
				return false
			}
		}
		for _, a := range pl.GetAntiAffinity() {
			if perService[a.GetService()] > 0 {
				return false
			}
		}
	}
	if len(pl.GetDevices()) > 0 {
		kept := slices.DeleteFunc(slices.Clone(held), func(h *orchpb.Replica) bool { return evicted[h.GetId()] })
		for name, count := range pl.GetDevices() {
			if int32(len(freePaths(n, kept, name))) < count {
				return false
			}
		}
	}
	return true
}

// keepsAway: h, of another service, has an antiAffinity naming spec's.
func keepsAway(h *orchpb.Replica, spec *orchpb.ServiceSpec) bool {
	if h.GetNamespace() != spec.GetNamespace() || h.GetService() == spec.GetName() {
		return false
	}
	for _, a := range h.GetSpec().GetPlacement().GetAntiAffinity() {
		if a.GetService() == spec.GetName() {
			return true
		}
	}
	return false
}

// freePaths are node n's paths of device name that no replica of held holds.
func freePaths(n *orchpb.Node, held []*orchpb.Replica, name string) []string {
	used := map[string]bool{}
	for _, h := range held {
		for _, g := range h.GetDevices() {
			for _, path := range g.GetPaths() {
				used[path] = true
			}
		}
	}
	var out []string
	for _, g := range n.GetDevices() {
		if g.GetName() != name {
			continue
		}
		for _, path := range g.GetPaths() {
			if !used[path] {
				out = append(out, path)
			}
		}
	}
	return out
}

// chooseDevices takes, by name order, the first free paths want asks for.
func chooseDevices(n *orchpb.Node, held []*orchpb.Replica, want map[string]int32) []*orchpb.DeviceGroup {
	var out []*orchpb.DeviceGroup
	for _, name := range sortedNames(want) {
		if want[name] > 0 {
			out = append(out, &orchpb.DeviceGroup{Name: name, Paths: freePaths(n, held, name)[:want[name]]})
		}
	}
	return out
}

func serviceIDOf(r *orchpb.Replica) ServiceID { return ServiceID{r.GetNamespace(), r.GetService()} }

func maxPriority(rs []*orchpb.Replica) int32 {
	var m int32
	for _, r := range rs {
		m = max(m, r.GetSpec().GetPriority())
	}
	return m
}

func sumPriority(rs []*orchpb.Replica) int64 {
	var s int64
	for _, r := range rs {
		s += int64(r.GetSpec().GetPriority())
	}
	return s
}
