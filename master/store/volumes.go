package store

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
)

// Volumes: the binding of a slot's persistent volume to the node that holds
// its data. The FSM creates it in the command that first places the slot
// (so no plan can ever see the slot placed and its volume unbound), refuses
// any later placement of the slot on another node, and keeps it through
// scale-down and the service's deletion; only DeleteVolumes releases it.

// ProtocolVolumes is the protocol that brought volume bindings; a master
// of v0.1.0 would place a slot without recording one.
var ProtocolVolumes = ProtocolCanary

// KindVolume is the kind of a volume binding's watch events.
const KindVolume = "volume"

type volKey struct {
	namespace, service string
	slot               int32
	name               string
}

func keyOfVolume(v *orchpb.Volume) volKey {
	return volKey{v.GetNamespace(), v.GetService(), v.GetSlot(), v.GetName()}
}

// volumeSpec is the spec a replica runs: its own, or its service's for a
// replica written without one.
func (s *Store) volumeSpec(r *orchpb.Replica) *orchpb.ServiceSpec {
	if r.GetSpec() != nil {
		return r.GetSpec()
	}
	return s.services[svcKey{r.GetNamespace(), r.GetService()}].GetSpec()
}

// volumeProblem says why r may not run on r.Node: a persistent volume of
// its slot is bound to another node. The caller holds mu.
func (s *Store) volumeProblem(r *orchpb.Replica) string {
	if !s.speaks(ProtocolVolumes) {
		return ""
	}
	for _, name := range s.volumeSpec(r).PersistentVolumes() {
		v := s.volumes[volKey{r.GetNamespace(), r.GetService(), r.GetSlot(), name}]
		if v != nil && v.GetNode() != r.GetNode() {
			return "slot " + r.DisplayName() + " holds volume " + name + " on node " + s.nodeName(v.GetNode())
		}
	}
	return ""
}

// bindVolumes records, for a replica just placed, the bindings of its
// slot's persistent volumes that do not exist yet. The caller holds mu.
func (s *Store) bindVolumes(index uint64, r *orchpb.Replica) {
	if !counts(r) || !s.speaks(ProtocolVolumes) {
		return
	}
	for _, name := range s.volumeSpec(r).PersistentVolumes() {
		k := volKey{r.GetNamespace(), r.GetService(), r.GetSlot(), name}
		if s.volumes[k] != nil {
			continue
		}
		v := &orchpb.Volume{Namespace: k.namespace, Service: k.service, Slot: k.slot, Name: name,
			Node: r.GetNode(), Version: index, CreateIndex: index}
		s.volumes[k] = v
		s.volumeByIndex[index] = k
		s.emit(EventPut, KindVolume, v)
	}
}

func (s *Store) nodeName(id string) string {
	if n := s.nodes[id]; n.GetName() != "" {
		return n.GetName()
	}
	return id
}

// deleteVolumes releases one binding (forget) or all of a deleted
// service's (delete --volumes).
func (s *Store) deleteVolumes(index uint64, c *orchpb.DeleteVolumes) *orchpb.CommandResult {
	if !s.speaks(ProtocolVolumes) {
		return fail(index, orchpb.ResultInvalid, "volumes need every master at protocol %s or later: finish the upgrade first", ProtocolVolumes)
	}
	if c.GetNamespace() == "" || c.GetService() == "" {
		return fail(index, orchpb.ResultInvalid, "delete volumes: needs namespace and service")
	}
	svc := svcKey{c.GetNamespace(), c.GetService()}
	if c.GetName() == "" {
		if s.services[svc] != nil {
			return fail(index, orchpb.ResultConflict, "service %s still exists: delete it first, its volumes with it", svc)
		}
		for _, v := range s.volumesOf(svc) {
			delete(s.volumes, keyOfVolume(v))
			delete(s.volumeByIndex, v.GetCreateIndex())
			s.emit(EventDelete, KindVolume, v)
		}
		return &orchpb.CommandResult{}
	}
	k := volKey{c.GetNamespace(), c.GetService(), c.GetSlot(), c.GetName()}
	v := s.volumes[k]
	if v == nil {
		return fail(index, orchpb.ResultNotFound, "volume %s in namespace %s not found", volumeName(k), k.namespace)
	}
	if c.GetIfNode() != "" && c.GetIfNode() != v.GetNode() {
		return fail(index, orchpb.ResultConflict, "volume %s is on node %s now, not %s", v.DisplayName(), s.nodeName(v.GetNode()), s.nodeName(c.GetIfNode()))
	}
	if r := s.slotReplicaOn(v); r != nil {
		return fail(index, orchpb.ResultConflict,
			"%s (%s) runs with volume %s on node %s: forget is for a node that is lost; stop the slot first (scale down or delete the service)",
			r.DisplayName(), r.GetId(), v.GetName(), s.nodeName(v.GetNode()))
	}
	delete(s.volumes, k)
	delete(s.volumeByIndex, v.GetCreateIndex())
	s.emit(EventDelete, KindVolume, v)
	return &orchpb.CommandResult{}
}

// slotReplicaOn returns a replica of v's slot that holds resources on v's
// node (so may be using its data), or nil.
func (s *Store) slotReplicaOn(v *orchpb.Volume) *orchpb.Replica {
	for _, id := range sortedKeys(s.byService[svcKey{v.GetNamespace(), v.GetService()}]) {
		r := s.replicas[id]
		if r.GetSlot() == v.GetSlot() && r.GetNode() == v.GetNode() && counts(r) {
			return r
		}
	}
	return nil
}

func volumeName(k volKey) string {
	return (&orchpb.Volume{Service: k.service, Slot: k.slot, Name: k.name}).DisplayName()
}

// reportVolumeUsage records the sizes a node measured of its own volumes.
func (s *Store) reportVolumeUsage(index uint64, c *orchpb.ReportVolumeUsage) *orchpb.CommandResult {
	if !s.speaks(ProtocolVolumes) {
		return fail(index, orchpb.ResultInvalid, "volumes need every master at protocol %s or later: finish the upgrade first", ProtocolVolumes)
	}
	sizes := sizesByIndex(c.GetSizes())
	if len(sizes) == 0 {
		return &orchpb.CommandResult{}
	}
	for _, idx := range slices.Sorted(maps.Keys(sizes)) {
		k, ok := s.volumeByIndex[idx]
		v, size := s.volumes[k], sizes[idx]
		if !ok || v.GetNode() != c.GetNodeId() || size == v.GetSizeBytes() {
			continue
		}
		nv := &orchpb.Volume{Namespace: v.Namespace, Service: v.Service, Slot: v.Slot, Name: v.Name, Node: v.Node,
			Version: index, CreateIndex: v.CreateIndex, SizeBytes: size}
		s.volumes[k] = nv
		s.emit(EventPut, KindVolume, nv)
	}
	return &orchpb.CommandResult{}
}

// VolumeUsageIsNews reports whether node's measured sizes would change any
// stored volume, so the dispatcher proposes only news.
func (s *Store) VolumeUsageIsNews(node string, list []*orchpb.VolumeSize) bool {
	if len(list) == 0 {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for idx, size := range sizesByIndex(list) {
		k, ok := s.volumeByIndex[idx]
		if v := s.volumes[k]; ok && v.GetNode() == node && size != v.GetSizeBytes() {
			return true
		}
	}
	return false
}

// sizesByIndex: the last size given for each volume wins.
func sizesByIndex(list []*orchpb.VolumeSize) map[uint64]int64 {
	out := make(map[uint64]int64, len(list))
	for _, v := range list {
		out[v.GetCreateIndex()] = v.GetSizeBytes()
	}
	return out
}

func compareVolKeys(a, b volKey) int {
	return cmp.Or(strings.Compare(a.namespace, b.namespace), strings.Compare(a.service, b.service),
		cmp.Compare(a.slot, b.slot), strings.Compare(a.name, b.name))
}

func sortVolumes(list []*orchpb.Volume) {
	slices.SortFunc(list, func(a, b *orchpb.Volume) int { return compareVolKeys(keyOfVolume(a), keyOfVolume(b)) })
}

// volumesOf lists a service's bindings, sorted; the caller holds mu.
func (s *Store) volumesOf(svc svcKey) []*orchpb.Volume {
	var out []*orchpb.Volume
	for k, v := range s.volumes {
		if k.namespace == svc.namespace && k.service == svc.name {
			out = append(out, v)
		}
	}
	sortVolumes(out)
	return out
}

// Volumes lists the bindings of namespace ("" = all), sorted by namespace,
// service, slot and name. Shared with the store: do not modify them.
func (s *Store) Volumes(namespace string) []*orchpb.Volume {
	out := selectFrom(s, func() map[volKey]*orchpb.Volume { return s.volumes }, func(k volKey, _ *orchpb.Volume) bool { return namespace == "" || k.namespace == namespace })
	sortVolumes(out)
	return out
}

// ServiceVolumes lists one service's bindings, sorted by slot and name.
func (s *Store) ServiceVolumes(namespace, service string) []*orchpb.Volume {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.volumesOf(svcKey{namespace, service})
}

// NodeVolumes lists the bindings held by node, sorted.
func (s *Store) NodeVolumes(node string) []*orchpb.Volume {
	out := selectFrom(s, func() map[volKey]*orchpb.Volume { return s.volumes }, func(_ volKey, v *orchpb.Volume) bool { return v.GetNode() == node })
	sortVolumes(out)
	return out
}
