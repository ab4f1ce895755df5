package scheduler

import (
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	orchpb "github.com/orch-io/orch/proto"
)

// This file is the test harness: it builds clusters concisely, runs the
// scheduler and checks every plan against a reference model written
// independently of the implementation, so table tests only state what is
// particular to them.

const (
	ki = int64(1) << 10
	mi = int64(1) << 20
	gi = int64(1) << 30
)

// testCluster is an Input under construction.
type testCluster struct {
	t  testing.TB
	in Input
}

func newCluster(t testing.TB) *testCluster { return &testCluster{t: t} }

type nodeOpt func(*orchpb.Node)

func capacity(cpuMillis, mem int64) nodeOpt {
	return func(n *orchpb.Node) { n.Capacity = &orchpb.ResourceAmounts{CpuMillis: cpuMillis, MemoryBytes: mem} }
}

// labels takes "key=value" pairs.
func labels(kv ...string) nodeOpt {
	return func(n *orchpb.Node) {
		for _, s := range kv {
			k, v, _ := strings.Cut(s, "=")
			n.Labels[k] = v
		}
	}
}

func state(s orchpb.NodeState) nodeOpt { return func(n *orchpb.Node) { n.SetStatus(s) } }
func nodeID(id string) nodeOpt         { return func(n *orchpb.Node) { n.Id = id } }

// node adds a ready node with id "id-NAME" and 4 cpu, 8Gi unless opts say
// otherwise.
func (c *testCluster) node(name string, opts ...nodeOpt) *testCluster {
	n := &orchpb.Node{
		Id: "id-" + name, Name: name, State: string(orchpb.NodeReady), Labels: map[string]string{},
		Capacity: &orchpb.ResourceAmounts{CpuMillis: 4000, MemoryBytes: 8 * gi},
	}
	for _, o := range opts {
		o(n)
	}
	c.in.Nodes = append(c.in.Nodes, n)
	return c
}

// nodes adds count nodes named PREFIX1, PREFIX2, ...
func (c *testCluster) nodes(count int, prefix string, opts ...nodeOpt) *testCluster {
	for i := 1; i <= count; i++ {
		c.node(fmt.Sprintf("%s%d", prefix, i), opts...)
	}
	return c
}

// run adds an existing replica of service svc (namespace default) on the
// node named node.
func (c *testCluster) run(svc, node string, cpuMillis, mem int64, ports ...int32) *testCluster {
	id := fmt.Sprintf("%s.existing%d", svc, len(c.in.Replicas))
	c.in.Replicas = append(c.in.Replicas, &orchpb.Replica{
		Id: id, Namespace: "default", Service: svc, Node: c.idOf(node),
		DesiredState: string(orchpb.DesiredRunning), State: string(orchpb.ReplicaRunning),
		Resources: &orchpb.ResourceAmounts{CpuMillis: cpuMillis, MemoryBytes: mem},
		HostPorts: ports,
	})
	return c
}

func (c *testCluster) idOf(name string) string {
	for _, n := range c.in.Nodes {
		if n.Name == name {
			return n.Id
		}
	}
	c.t.Fatalf("no node %q in the test cluster", name)
	return ""
}

func (c *testCluster) nameOf(id string) string {
	for _, n := range c.in.Nodes {
		if n.Id == id {
			return n.Name
		}
	}
	return "?" + id
}

type reqOpt func(*Request)

// req asks for count replicas of svc (ids SVC.1, SVC.2, ...) needing 100m
// and 128Mi each unless opts say otherwise.
func req(svc string, count int, opts ...reqOpt) Request {
	r := Request{Spec: &orchpb.ServiceSpec{Kind: "Service", Name: svc, Namespace: "default", Placement: &orchpb.Placement{}}}
	for i := 1; i <= count; i++ {
		r.Replicas = append(r.Replicas, &orchpb.Replica{
			Id: fmt.Sprintf("%s.%d", svc, i), Namespace: "default", Service: svc, Slot: int32(i),
			DesiredState: string(orchpb.DesiredRunning), State: string(orchpb.ReplicaPending),
			Resources: &orchpb.ResourceAmounts{CpuMillis: 100, MemoryBytes: 128 * mi},
		})
	}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func res(cpuMillis, mem int64) reqOpt {
	return func(r *Request) {
		for _, rep := range r.Replicas {
			rep.Resources = &orchpb.ResourceAmounts{CpuMillis: cpuMillis, MemoryBytes: mem}
		}
	}
}

func constraint(exprs ...string) reqOpt {
	return func(r *Request) { r.Spec.Placement.Constraints = append(r.Spec.Placement.Constraints, exprs...) }
}

func spreadBy(label string) reqOpt { return func(r *Request) { r.Spec.Placement.SpreadBy = label } }
func binpack() reqOpt              { return func(r *Request) { r.Spec.Placement.Strategy = orchpb.StrategyBinpack } }
func maxPerNode(n int32) reqOpt    { return func(r *Request) { r.Spec.Placement.MaxPerNode = n } }

// hostPort publishes port on the node, in the spec and on every replica, as
// the service controller does.
func hostPort(port int32) reqOpt {
	return func(r *Request) {
		r.Spec.Ports = append(r.Spec.Ports, &orchpb.Port{Name: "p", Port: port, Protocol: "tcp", HostPort: port})
		for _, rep := range r.Replicas {
			rep.HostPorts = append(rep.HostPorts, port)
		}
	}
}

// pin sets Node on every replica of the request, as the global controller does.
func affinity(svcs ...string) reqOpt {
	return func(r *Request) {
		for _, s := range svcs {
			r.Spec.Placement.Affinity = append(r.Spec.Placement.Affinity, &orchpb.ServiceAffinity{Service: s})
		}
	}
}

func antiAffinity(svcs ...string) reqOpt {
	return func(r *Request) {
		for _, s := range svcs {
			r.Spec.Placement.AntiAffinity = append(r.Spec.Placement.AntiAffinity, &orchpb.ServiceAffinity{Service: s})
		}
	}
}

func devices(name string, count int32) reqOpt {
	return func(r *Request) {
		if r.Spec.Placement.Devices == nil {
			r.Spec.Placement.Devices = map[string]int32{}
		}
		r.Spec.Placement.Devices[name] = count
	}
}

// advertise gives a node device paths under name.
func advertise(name string, paths ...string) nodeOpt {
	return func(n *orchpb.Node) { n.Devices = append(n.Devices, &orchpb.DeviceGroup{Name: name, Paths: paths}) }
}

// runDevices is run holding device paths.
func (c *testCluster) runDevices(svc, node, name string, paths ...string) *testCluster {
	c.run(svc, node, 0, 0)
	c.in.Replicas[len(c.in.Replicas)-1].Devices = []*orchpb.DeviceGroup{{Name: name, Paths: paths}}
	return c
}

func pin(nodeID string) reqOpt {
	return func(r *Request) {
		for _, rep := range r.Replicas {
			rep.Node = nodeID
		}
	}
}

// result is a checked plan with helpers to read it by node name.
type result struct {
	Plan
	c *testCluster
}

// schedule runs Schedule and fails the test unless the plan keeps every
// invariant (see checkPlan) and is the same whatever the order of the
// input's nodes and replicas.
func (c *testCluster) schedule(reqs ...Request) result {
	c.t.Helper()
	before := cloneInput(c.in)
	beforeReqs := cloneRequests(reqs)
	p := Schedule(c.in, reqs)
	if !inputEqual(before, c.in) || !requestsEqual(beforeReqs, reqs) {
		c.t.Fatal("Schedule modified its input")
	}
	if err := checkPlan(c.in, reqs, p); err != nil {
		c.t.Fatalf("invalid plan: %v\nplan: %+v", err, p)
	}
	shuffled := cloneInput(c.in)
	rng := rand.New(rand.NewSource(1))
	rng.Shuffle(len(shuffled.Nodes), func(i, j int) { shuffled.Nodes[i], shuffled.Nodes[j] = shuffled.Nodes[j], shuffled.Nodes[i] })
	rng.Shuffle(len(shuffled.Replicas), func(i, j int) {
		shuffled.Replicas[i], shuffled.Replicas[j] = shuffled.Replicas[j], shuffled.Replicas[i]
	})
	if p2 := Schedule(shuffled, reqs); !reflect.DeepEqual(p, p2) {
		c.t.Fatalf("plan depends on input order:\n%+v\n%+v", p, p2)
	}
	return result{Plan: p, c: c}
}

// perNode counts the replicas placed per node name.
func (r result) perNode() map[string]int {
	m := map[string]int{}
	for _, pl := range r.Placements {
		m[r.c.nameOf(pl.NodeID)]++
	}
	return m
}

// perLabel counts the replicas placed per value of a node label.
func (r result) perLabel(key string) map[string]int {
	byID := map[string]*orchpb.Node{}
	for _, n := range r.c.in.Nodes {
		byID[n.Id] = n
	}
	m := map[string]int{}
	for _, pl := range r.Placements {
		m[byID[pl.NodeID].Labels[key]]++
	}
	return m
}

// order lists node names in placement order.
func (r result) order() []string {
	var s []string
	for _, pl := range r.Placements {
		s = append(s, r.c.nameOf(pl.NodeID))
	}
	return s
}

func (r result) reasons() []string {
	var s []string
	for _, u := range r.Unplaced {
		s = append(s, u.Reason)
	}
	return s
}

// ---- the reference model ----

// refState is what the reference model believes is held on each node.
type refState struct {
	cpu, mem map[string]int64
	ports    map[string]map[int32]bool
	devices  map[string]map[string]bool  // node id -> device paths held
	repels   map[string]map[string]bool  // node id -> namespace/service an antiAffinity there names
	count    map[string]map[string]int32 // namespace/service -> node id -> replicas
}

func newRefState(in Input, placing map[string]bool) *refState {
	s := &refState{cpu: map[string]int64{}, mem: map[string]int64{}, ports: map[string]map[int32]bool{},
		devices: map[string]map[string]bool{}, repels: map[string]map[string]bool{}, count: map[string]map[string]int32{}}
	known := map[string]bool{}
	for _, n := range in.Nodes {
		known[n.Id] = true
	}
	for _, r := range in.Replicas {
		if r.Node != "" && known[r.Node] && !placing[r.Id] {
			s.add(r.Node, r.Namespace+"/"+r.Service, r.GetResources(), r.HostPorts)
			s.addDevices(r.Node, r.GetDevices())
			s.addRepels(r.Node, r.GetSpec(), r.Service)
		}
	}
	return s
}

func (s *refState) add(node, svc string, res *orchpb.ResourceAmounts, ports []int32) {
	s.cpu[node] += res.GetCpuMillis()
	s.mem[node] += res.GetMemoryBytes()
	if s.ports[node] == nil {
		s.ports[node] = map[int32]bool{}
	}
	for _, p := range ports {
		s.ports[node][p] = true
	}
	if s.count[svc] == nil {
		s.count[svc] = map[string]int32{}
	}
	s.count[svc][node]++
}

// refCanRun says why node n cannot take replica rep of spec, or "".
func (s *refState) refCanRun(n *orchpb.Node, spec *orchpb.ServiceSpec, rep *orchpb.Replica) string {
	if n.Status() != orchpb.NodeReady {
		return "state " + n.State
	}
	for _, expr := range spec.GetPlacement().GetConstraints() {
		if !refConstraint(n, expr) {
			return "constraint " + expr
		}
	}
	if c := rep.GetResources().GetCpuMillis(); c > 0 && s.cpu[n.Id]+c > n.GetCapacity().GetCpuMillis() {
		return "cpu"
	}
	if m := rep.GetResources().GetMemoryBytes(); m > 0 && s.mem[n.Id]+m > n.GetCapacity().GetMemoryBytes() {
		return "memory"
	}
	for _, p := range rep.HostPorts {
		if s.ports[n.Id][p] {
			return fmt.Sprint("port ", p)
		}
	}
	if m := spec.GetPlacement().GetMaxPerNode(); m > 0 && s.count[spec.Namespace+"/"+spec.Name][n.Id] >= m {
		return "maxPerNode"
	}
	for _, a := range spec.GetPlacement().GetAffinity() {
		if s.count[spec.Namespace+"/"+a.Service][n.Id] == 0 {
			return "affinity " + a.Service
		}
	}
	for _, a := range spec.GetPlacement().GetAntiAffinity() {
		if s.count[spec.Namespace+"/"+a.Service][n.Id] > 0 {
			return "antiAffinity " + a.Service
		}
	}
	for name, want := range spec.GetPlacement().GetDevices() {
		if free := len(s.freeDevices(n, name)); int32(free) < want {
			return "device " + name
		}
	}
	if s.repels[n.Id][spec.Namespace+"/"+spec.Name] {
		return "repelled"
	}
	return ""
}

// addRepels records the services other than self that spec's
// antiAffinity keeps off node.
func (s *refState) addRepels(node string, spec *orchpb.ServiceSpec, self string) {
	for _, a := range spec.GetPlacement().GetAntiAffinity() {
		if a.Service == self {
			continue
		}
		if s.repels[node] == nil {
			s.repels[node] = map[string]bool{}
		}
		s.repels[node][spec.GetNamespace()+"/"+a.Service] = true
	}
}

func (s *refState) addDevices(node string, groups []*orchpb.DeviceGroup) {
	for _, g := range groups {
		for _, p := range g.Paths {
			if s.devices[node] == nil {
				s.devices[node] = map[string]bool{}
			}
			s.devices[node][p] = true
		}
	}
}

func (s *refState) freeDevices(n *orchpb.Node, name string) []string {
	var out []string
	for _, g := range n.GetDevices() {
		for _, p := range g.Paths {
			if g.Name == name && !s.devices[n.Id][p] {
				out = append(out, p)
			}
		}
	}
	return out
}

// checkDevices: a placement holds exactly the devices its spec asks for,
// each advertised by its node and free.
func (s *refState) checkDevices(n *orchpb.Node, spec *orchpb.ServiceSpec, got []*orchpb.DeviceGroup) error {
	want := spec.GetPlacement().GetDevices()
	held := map[string]int32{}
	for _, g := range got {
		free := s.freeDevices(n, g.Name)
		for _, p := range g.Paths {
			if !slices.Contains(free, p) {
				return fmt.Errorf("device %s path %s is not free on %s", g.Name, p, n.Name)
			}
			held[g.Name]++
		}
	}
	for name, count := range want {
		if count > 0 && held[name] != count {
			return fmt.Errorf("holds %d of device %s, want %d", held[name], name, count)
		}
	}
	return nil
}

func refConstraint(n *orchpb.Node, expr string) bool {
	key, value, eq := strings.Cut(expr, "==")
	if !eq {
		var ne bool
		if key, value, ne = strings.Cut(expr, "!="); !ne {
			return false // not an expression: matches nothing
		}
	}
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	var got string
	var has bool
	switch key {
	case "node.name":
		got, has = n.Name, true
	case "node.id":
		got, has = n.Id, true
	default:
		got, has = n.Labels[key]
	}
	match := has && got == value
	return match == eq
}

// checkPlan replays the plan on the reference model: every replica of every
// request is placed or unplaced exactly once; each placement passes every
// filter at the moment it is made (so no node ends over capacity, no port is
// taken twice); and no unplaced replica could run on any node at the end of
// the plan (placements only consume, so that also held when it was refused).
func checkPlan(in Input, reqs []Request, p Plan) error {
	type pending struct {
		spec *orchpb.ServiceSpec
		rep  *orchpb.Replica
		pin  string // the only node it may go to: its own, or its volume's
	}
	byReplica := map[string]pending{}
	placing := map[string]bool{}
	for _, r := range reqs {
		for _, rep := range r.Replicas {
			pin := rep.Node
			if v, ok := r.Volumes[rep.Slot]; ok && pin == "" {
				pin = v.Node
			}
			byReplica[rep.Id] = pending{r.Spec, rep, pin}
			placing[rep.Id] = true
		}
	}
	nodes := map[string]*orchpb.Node{}
	for _, n := range in.Nodes {
		nodes[n.Id] = n
	}
	seen := map[string]bool{}
	s := newRefState(in, placing)
	for _, pl := range p.Placements {
		pr, ok := byReplica[pl.ReplicaID]
		if !ok || seen[pl.ReplicaID] {
			return fmt.Errorf("placement of unknown or repeated replica %q", pl.ReplicaID)
		}
		seen[pl.ReplicaID] = true
		n, ok := nodes[pl.NodeID]
		if !ok {
			return fmt.Errorf("%s placed on unknown node %q", pl.ReplicaID, pl.NodeID)
		}
		if pr.pin != "" && pr.pin != pl.NodeID {
			return fmt.Errorf("%s pinned to %s placed on %s", pl.ReplicaID, pr.pin, pl.NodeID)
		}
		if why := s.refCanRun(n, pr.spec, pr.rep); why != "" {
			return fmt.Errorf("%s placed on %s which fails %s", pl.ReplicaID, n.Name, why)
		}
		if err := s.checkDevices(n, pr.spec, p.Devices[pl.ReplicaID]); err != nil {
			return fmt.Errorf("%s: %w", pl.ReplicaID, err)
		}
		s.add(n.Id, pr.spec.Namespace+"/"+pr.spec.Name, pr.rep.Resources, pr.rep.HostPorts)
		s.addDevices(n.Id, p.Devices[pl.ReplicaID])
		s.addRepels(n.Id, pr.spec, pr.spec.Name)
	}
	for _, pl := range p.Placements {
		capa := nodes[pl.NodeID].GetCapacity()
		if s.cpu[pl.NodeID] > capa.GetCpuMillis() || s.mem[pl.NodeID] > capa.GetMemoryBytes() {
			return fmt.Errorf("node %s over capacity: %dm cpu, %d bytes", pl.NodeID, s.cpu[pl.NodeID], s.mem[pl.NodeID])
		}
	}
	for _, u := range p.Unplaced {
		pr, ok := byReplica[u.ReplicaID]
		if !ok || seen[u.ReplicaID] {
			return fmt.Errorf("unplaced unknown or repeated replica %q", u.ReplicaID)
		}
		seen[u.ReplicaID] = true
		// A slot pinned by its volume says which node it waits for.
		if !strings.Contains(u.Reason, " nodes can run it") && !strings.HasPrefix(u.Reason, "waiting for node ") {
			return fmt.Errorf("%s: reason %q is not in the reason style", u.ReplicaID, u.Reason)
		}
		for _, n := range in.Nodes {
			if pr.pin != "" && pr.pin != n.Id {
				continue
			}
			if why := s.refCanRun(n, pr.spec, pr.rep); why == "" {
				return fmt.Errorf("%s left unplaced (%s) but fits %s", u.ReplicaID, u.Reason, n.Name)
			}
		}
	}
	if len(seen) != len(byReplica) {
		return fmt.Errorf("plan covers %d of %d replicas", len(seen), len(byReplica))
	}
	return nil
}

func cloneInput(in Input) Input {
	var out Input
	for _, n := range in.Nodes {
		out.Nodes = append(out.Nodes, proto.Clone(n).(*orchpb.Node))
	}
	for _, r := range in.Replicas {
		out.Replicas = append(out.Replicas, proto.Clone(r).(*orchpb.Replica))
	}
	return out
}

func inputEqual(a, b Input) bool {
	return slices.EqualFunc(a.Nodes, b.Nodes, func(x, y *orchpb.Node) bool { return proto.Equal(x, y) }) &&
		slices.EqualFunc(a.Replicas, b.Replicas, func(x, y *orchpb.Replica) bool { return proto.Equal(x, y) })
}

func cloneRequests(reqs []Request) []Request {
	var out []Request
	for _, r := range reqs {
		c := Request{Spec: proto.Clone(r.Spec).(*orchpb.ServiceSpec)}
		for _, rep := range r.Replicas {
			c.Replicas = append(c.Replicas, proto.Clone(rep).(*orchpb.Replica))
		}
		out = append(out, c)
	}
	return out
}

func requestsEqual(a, b []Request) bool {
	return slices.EqualFunc(a, b, func(x, y Request) bool {
		return proto.Equal(x.Spec, y.Spec) &&
			slices.EqualFunc(x.Replicas, y.Replicas, func(p, q *orchpb.Replica) bool { return proto.Equal(p, q) })
	})
}
