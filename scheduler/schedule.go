package scheduler

import (
	"fmt"

	orchpb "github.com/orch-io/orch/proto"
)

// Schedule places the replicas of reqs, in order, on the cluster in. Each
// placement holds its resources, ports and spread count for the rest of the
// plan, so later replicas and requests see it. It never modifies in or reqs.
func Schedule(in Input, reqs []Request) Plan {
	v := newView(in, reqs)
	var p Plan
	for _, r := range reqs {
		v.schedule(r, &p)
	}
	return p
}

// EligibleNodes returns the nodes that pass the state and constraint filters
// for spec, in name then id order: where a global service runs one replica
// each. Resources and ports are left to Schedule with pinned replicas.
func EligibleNodes(in Input, spec *orchpb.ServiceSpec) []*orchpb.Node {
	v := newView(Input{Nodes: in.Nodes}, nil)
	fs := staticFilters(v, spec)
	var out []*orchpb.Node
	for i, n := range v.nodes {
		if firstFail(fs, int32(i), 0) < 0 {
			out = append(out, n)
		}
	}
	return out
}

func (v *view) schedule(r Request, p *Plan) {
	svc := serviceOf(r)
	count := v.counts(svc)
	statics := staticFilters(v, r.Spec)
	maxPerNode := r.Spec.GetPlacement().GetMaxPerNode()
	var staticFail []int // built on first need: pinned classes do not need it
	for _, c := range classesOf(r) {
		dyn := append(dynamicFilters(v, c, maxPerNode, count), relationFilters(v, r.Spec, svc, c)...)
		fs := append(statics[:len(statics):len(statics)], dyn...)
		if c.pinned != "" {
			v.schedulePinned(c, svc, count, fs, p)
			continue
		}
		if staticFail == nil {
			staticFail = v.staticFailures(r.Spec, statics)
		}
		fail := v.failures()
		for i, k := range staticFail {
			if k < 0 {
				k = firstFail(dyn, int32(i), len(statics))
			}
			fail[i] = k
		}
		sel := newSelector(v, r.Spec, count, fail)
		reason := "" // the same for every replica of the class once one fails
		for _, rep := range c.replicas {
			g, i, ok := sel.best()
			if !ok {
				if reason == "" {
					reason = summarize(len(v.nodes), fs, fail)
				}
				p.Unplaced = append(p.Unplaced, Unplaced{ReplicaID: rep.GetId(), Reason: reason})
				continue
			}
			p.addDevices(rep.GetId(), v.place(i, svc, c, count))
			p.Placements = append(p.Placements, Placement{ReplicaID: rep.GetId(), NodeID: v.nodes[i].GetId()})
			fail[i] = firstFail(dyn, i, len(statics))
			sel.placed(g, fail[i] < 0)
		}
	}
}

// schedulePinned checks pinned replicas against their one node.
func (v *view) schedulePinned(c *class, svc serviceKey, count []int32, fs []filter, p *Plan) {
	for _, rep := range c.replicas {
		i, reason := v.checkPinned(c, fs)
		if reason != "" {
			p.Unplaced = append(p.Unplaced, Unplaced{ReplicaID: rep.GetId(), Reason: reason})
			continue
		}
		p.addDevices(rep.GetId(), v.place(i, svc, c, count))
		p.Placements = append(p.Placements, Placement{ReplicaID: rep.GetId(), NodeID: c.pinned})
	}
}

// checkPinned returns the pinned node's index, or why it cannot take one
// more replica of c, counting only that node.
func (v *view) checkPinned(c *class, fs []filter) (int32, string) {
	if c.volume != "" {
		return v.volumeReason(c, fs)
	}
	i, ok := v.byID[c.pinned]
	if !ok {
		return 0, fmt.Sprintf("0/0 nodes can run it: pinned node %q not found", c.pinned)
	}
	if k := firstFail(fs, i, 0); k >= 0 {
		return i, summarize(1, fs, []int{k})
	}
	return i, ""
}

// place holds a replica of class c on node i for the rest of the plan and
// returns the devices it takes there.
func (v *view) place(i int32, svc serviceKey, c *class, count []int32) []*orchpb.DeviceGroup {
	v.hold(i, svc, c.cpu, c.mem, c.ports)
	v.holdRepels(i, c.repels)
	count[i]++
	return v.takeDevices(i, c.devices)
}
