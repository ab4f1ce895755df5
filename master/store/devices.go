package store

import (
	"fmt"
	"slices"

	orchpb "github.com/orch-io/orch/proto"
)

// deviceProblem re-checks the devices a replica write gives r: each path
// is one its node advertises under that name, and no other replica
// holding resources on the node holds it. A plan made on a stale view
// could otherwise hand one device to two containers.
func (s *Store) deviceProblem(r *orchpb.Replica) string {
	node := s.nodes[r.Node]
	if node == nil {
		return fmt.Sprintf("node %s not found", r.Node)
	}
	mine := map[string]bool{}
	for _, g := range r.Devices {
		i := slices.IndexFunc(node.GetDevices(), func(d *orchpb.DeviceGroup) bool { return d.GetName() == g.GetName() })
		for _, p := range g.GetPaths() {
			if i < 0 || !slices.Contains(node.GetDevices()[i].GetPaths(), p) {
				return fmt.Sprintf("node %s has no device %s at %s", node.Name, g.GetName(), p)
			}
			mine[p] = true
		}
	}
	for _, id := range sortedKeys(s.byNode[r.Node]) {
		other := s.replicas[id]
		if id == r.Id || !counts(other) {
			continue
		}
		for _, g := range other.Devices {
			for _, p := range g.GetPaths() {
				if mine[p] {
					return fmt.Sprintf("device %s on node %s is held by %s (%s)", p, node.Name, other.DisplayName(), other.Id)
				}
			}
		}
	}
	return ""
}
