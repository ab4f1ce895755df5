package dispatcher

import (
	"context"
	"slices"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// nodeVolumes are the persistent volumes bound to node, as its agent needs
// them: identity only (the size changes with every report and would make
// the set look changed).
func nodeVolumes(st *store.Store, node string) []*orchpb.Volume {
	list := st.NodeVolumes(node)
	out := make([]*orchpb.Volume, 0, len(list))
	for _, v := range list {
		out = append(out, identityOf(v))
	}
	return out
}

// slotVolumes are the bindings of rep's slot that its spec mounts, nil
// for a spec without persistent volumes (most: no store lookup then).
func slotVolumes(st *store.Store, rep *orchpb.Replica) []*orchpb.Volume {
	names := rep.GetSpec().PersistentVolumes()
	if len(names) == 0 {
		return nil
	}
	var out []*orchpb.Volume
	for _, v := range st.ServiceVolumes(rep.GetNamespace(), rep.GetService()) {
		if v.GetSlot() == rep.GetSlot() && v.GetNode() == rep.GetNode() && slices.Contains(names, v.GetName()) {
			out = append(out, identityOf(v))
		}
	}
	return out
}

func identityOf(v *orchpb.Volume) *orchpb.Volume {
	return &orchpb.Volume{Namespace: v.GetNamespace(), Service: v.GetService(), Slot: v.GetSlot(),
		Name: v.GetName(), Node: v.GetNode(), CreateIndex: v.GetCreateIndex()}
}

// sameVolumes compares two sets' volumes by identity, in their stored order.
func sameVolumes(a, b []*orchpb.Volume) bool {
	if len(a) != len(b) {
		return false
	}
	for i, v := range a {
		if v.GetCreateIndex() != b[i].GetCreateIndex() {
			return false
		}
	}
	return true
}

// recordVolumeUsage proposes the sizes a node measured, when they differ
// from the store (the agent measures at most every 30 s, so this is rare).
// A failure is only logged: the next measurement tries again.
func (d *Dispatcher) recordVolumeUsage(ctx context.Context, node string, sizes []*orchpb.VolumeSize) {
	if !d.deps.Store.VolumeUsageIsNews(node, sizes) {
		return
	}
	cmd := &orchpb.Command{Op: &orchpb.Command_ReportVolumeUsage{ReportVolumeUsage: &orchpb.ReportVolumeUsage{NodeId: node, Sizes: sizes}}}
	if _, err := d.deps.Proposer.Apply(ctx, cmd); err != nil {
		d.log.Debug("volume usage not recorded", "node", node, "err", err)
	}
}
