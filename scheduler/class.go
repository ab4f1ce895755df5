package scheduler

import (
	"slices"
	"strconv"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
)

// class is a set of replicas of one request that no filter or score can
// tell apart: same resources, same host ports, same pin. Feasibility is
// computed once per class, not once per replica.
type class struct {
	requirements
	// devices is the spec's placement.devices, the same for every class
	// of a request.
	devices map[string]int32
	// repels are the other services the spec's antiAffinity names.
	repels   []serviceKey
	replicas []*orchpb.Replica
}

// requirements are what tells classes apart.
type requirements struct {
	cpu, mem int64
	ports    []int32 // sorted, unique, > 0
	pinned   string  // node id, or "" for any node
	volume   string  // the volume that pins it, "" if pinned by its replica
}

// classesOf groups a request's replicas into classes, in the order each
// class first appears, keeping replica order inside a class. Nearly every
// request is one class; a rolling update that changed resources is two.
func classesOf(r Request) []*class {
	var out []*class
	byKey := make(map[string]*class)
	devices, repels := r.Spec.GetPlacement().GetDevices(), repelled(r.Spec, serviceOf(r))
	for _, rep := range r.Replicas {
		if rep == nil {
			continue
		}
		// The requirements alone make the key: a class is allocated only
		// for the first replica of each (most replicas join one).
		req := requirements{
			cpu:   rep.GetResources().GetCpuMillis(),
			mem:   rep.GetResources().GetMemoryBytes(),
			ports: hostPorts(rep, r.Spec),
		}
		req.pinned, req.volume = nodeFor(r, rep)
		key := req.key()
		if prev, ok := byKey[key]; ok {
			prev.replicas = append(prev.replicas, rep)
			continue
		}
		c := &class{requirements: req, devices: devices, repels: repels, replicas: []*orchpb.Replica{rep}}
		byKey[key] = c
		out = append(out, c)
	}
	return out
}

// specClass is the class a replica of spec would have, for Explain on a
// request without replicas: no resources (the spec holds them as text),
// the spec's host ports.
func specClass(spec *orchpb.ServiceSpec) *class {
	return &class{requirements: requirements{ports: hostPorts(nil, spec)}, devices: spec.GetPlacement().GetDevices()}
}

// hostPorts are the replica's host ports or, if it lists none, the spec's.
func hostPorts(rep *orchpb.Replica, spec *orchpb.ServiceSpec) []int32 {
	ps := slices.Clone(rep.GetHostPorts())
	if len(ps) == 0 {
		for _, p := range spec.GetPorts() {
			ps = append(ps, p.GetHostPort())
		}
	}
	ps = slices.DeleteFunc(ps, func(p int32) bool { return p <= 0 })
	slices.Sort(ps)
	return slices.Compact(ps)
}

func (c *requirements) key() string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(c.cpu, 10))
	b.WriteByte('/')
	b.WriteString(strconv.FormatInt(c.mem, 10))
	for _, p := range c.ports {
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(int(p)))
	}
	b.WriteByte('@')
	b.WriteString(c.pinned)
	b.WriteByte('/')
	b.WriteString(c.volume)
	return b.String()
}
