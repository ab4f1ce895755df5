package orchpb

import (
	"path"
	"strconv"
)

// Volume types (VolumeMount.type).
const (
	VolumePersistent = "persistent"
	VolumeScratch    = "scratch"
)

// Volume states, derived when a volume is served (Volume.state).
const (
	VolumeInUse    = "in-use"
	VolumeIdle     = "idle"
	VolumeNodeDown = "node-down"
)

// Persistent reports whether m is kept per slot (the default type).
func (m *VolumeMount) Persistent() bool {
	return m.GetType() == "" || m.GetType() == VolumePersistent
}

// PersistentVolumes are the names of the spec's persistent volumes.
func (s *ServiceSpec) PersistentVolumes() []string {
	var out []string
	for _, m := range s.GetVolumes() {
		if m.Persistent() {
			out = append(out, m.GetName())
		}
	}
	return out
}

// DisplayName is SERVICE.SLOT/NAME, how users name a volume.
func (v *Volume) DisplayName() string {
	return v.GetService() + "." + strconv.Itoa(int(v.GetSlot())) + "/" + v.GetName()
}

// RelDir is where the volume's data lives under a node's volume directory:
// NAMESPACE/SERVICE.SLOT/NAME-CREATEINDEX. The binding's index in the name
// keeps a slot bound again after a forget from finding the old data.
func (v *Volume) RelDir() string {
	return path.Join(v.GetNamespace(), v.GetService()+"."+strconv.Itoa(int(v.GetSlot())),
		v.GetName()+"-"+strconv.FormatUint(v.GetCreateIndex(), 10))
}
