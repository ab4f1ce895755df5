package scheduler

import (
	"fmt"

	orchpb "github.com/orch-io/orch/proto"
)

// VolumePin is the node that holds a slot's persistent volume: the slot
// runs there or nowhere (docs/stateful.md).
type VolumePin struct {
	// Node is the node's id.
	Node string
	// Volume is the name of one of the slot's volumes there, for the
	// reason users read.
	Volume string
}

// nodeFor is the one node rep may go to ("" for any): its own when it is
// pinned already, else the node holding its slot's volume.
func nodeFor(r Request, rep *orchpb.Replica) (node, volume string) {
	if rep.GetNode() != "" {
		return rep.GetNode(), ""
	}
	if pin, ok := r.Volumes[rep.GetSlot()]; ok {
		return pin.Node, pin.Volume
	}
	return "", ""
}

// volumeReason says why a replica pinned by its volume waits: its node is
// gone, not ready or unschedulable (the words of docs/stateful.md), or
// lacks room for it (what the first failed filter says).
func (v *view) volumeReason(c *class, fs []filter) (int32, string) {
	i, ok := v.byID[c.pinned]
	if !ok {
		return 0, fmt.Sprintf("waiting for node %s, which holds volume %s", c.pinned, c.volume)
	}
	waiting := fmt.Sprintf("waiting for node %s, which holds volume %s", v.nodes[i].GetName(), c.volume)
	if v.nodes[i].Status() != orchpb.NodeReady {
		return i, waiting
	}
	if k := firstFail(fs, i, 0); k >= 0 {
		return i, waiting + ": " + summarize(1, fs, []int{k})
	}
	return i, ""
}
