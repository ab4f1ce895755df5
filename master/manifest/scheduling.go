package manifest

import (
	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
)

// MaxPriority bounds priority: room for any ordering of classes of work,
// far from int32's edge.
const MaxPriority = 1_000_000_000

// MaxDevicesPerReplica bounds one placement.devices count.
const MaxDevicesPerReplica = 64

// validateScheduling checks priority and the placement fields between
// services (affinity, antiAffinity) and devices.
func validateScheduling(l *errorList, spec *orchpb.ServiceSpec) {
	if spec.Priority < 0 || spec.Priority > MaxPriority {
		l.add("priority", "must be between 0 and %d", MaxPriority)
	}
	p := spec.GetPlacement()
	affine := map[string]bool{}
	for i, a := range p.GetAffinity() {
		at := index("placement.affinity", i) + ".service"
		switch {
		case a.GetService() == "":
			l.add(at, "required")
		case dnsLabelProblem(a.GetService()) != "":
			l.add(at, "%s", dnsLabelProblem(a.GetService()))
		case a.GetService() == spec.Name:
			l.add(at, "a service cannot require itself (antiAffinity with itself puts one per node)")
		}
		affine[a.GetService()] = true
	}
	for i, a := range p.GetAntiAffinity() {
		at := index("placement.antiAffinity", i) + ".service"
		switch {
		case a.GetService() == "":
			l.add(at, "required")
		case dnsLabelProblem(a.GetService()) != "":
			l.add(at, "%s", dnsLabelProblem(a.GetService()))
		case affine[a.GetService()]:
			l.add(at, "%s is also in placement.affinity: no node can satisfy both", a.GetService())
		}
	}
	for _, name := range sortedKeys(p.GetDevices()) {
		at := key("placement.devices", name)
		if msg := api.DeviceNameProblem(name); msg != "" {
			l.add(at, "%s", msg)
		} else if n := p.GetDevices()[name]; n < 1 || n > MaxDevicesPerReplica {
			l.add(at, "must be between 1 and %d", MaxDevicesPerReplica)
		}
	}
}
