package controllers

import (
	"slices"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/orch-io/orch/scheduler"
)

// volumePins are the nodes that hold the slots' persistent volumes named
// by spec, by slot: the scheduler places each such slot there or nowhere.
// A spec without persistent volumes costs nothing.
func volumePins(st *store.Store, spec *orchpb.ServiceSpec) map[int32]scheduler.VolumePin {
	names := spec.PersistentVolumes()
	if len(names) == 0 {
		return nil
	}
	var pins map[int32]scheduler.VolumePin
	for _, v := range st.ServiceVolumes(spec.GetNamespace(), spec.GetName()) {
		if _, seen := pins[v.GetSlot()]; seen || !slices.Contains(names, v.GetName()) {
			continue
		}
		if pins == nil {
			pins = map[int32]scheduler.VolumePin{}
		}
		pins[v.GetSlot()] = scheduler.VolumePin{Node: v.GetNode(), Volume: v.GetName()}
	}
	return pins
}

// pinnedTo reports whether rep's slot is held to rep's node by a volume:
// a drain cannot move it, so the slot keeps its replica there.
func pinnedTo(pins map[int32]scheduler.VolumePin, rep *orchpb.Replica) bool {
	pin, ok := pins[rep.GetSlot()]
	return ok && rep.GetNode() != "" && pin.Node == rep.GetNode()
}
