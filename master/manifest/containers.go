package manifest

import (
	"math"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
)

// validateContainers checks sidecars and init containers: each one as a
// main container is checked, and their names, unique in the replica and
// never the service's (the main container's name).
func validateContainers(l *errorList, spec *orchpb.ServiceSpec) {
	seen := map[string]string{}
	if main := spec.MainContainerName(); main != "" {
		seen[main] = "the main container's name (the service's)"
	}
	check := func(list string, cs []*orchpb.ReplicaContainerSpec) {
		for i, c := range cs {
			at := index(list, i)
			if c == nil {
				l.add(at, "must not be empty")
				continue
			}
			validateContainerName(l, child(at, "name"), c.Name, seen)
			if _, dup := seen[c.Name]; !dup && c.Name != "" {
				seen[c.Name] = at
			}
			validateProcess(l, at, c.Image, c.Command, c.Env)
			validateResources(l, child(at, "resources"), c.Resources)
			validateSecurity(l, at, c.User, c.Capabilities)
		}
	}
	check("init", spec.Init)
	check("sidecars", spec.Sidecars)
	if len(spec.Sidecars) > 0 && !sumFits(spec) {
		l.add("sidecars", "the main container's and the sidecars' resources add up to more than any node can hold")
	}
}

// sumFits says whether the requests Requests adds up fit an int64.
func sumFits(spec *orchpb.ServiceSpec) bool {
	total := amounts(spec.GetResources())
	for _, c := range spec.GetSidecars() {
		a := amounts(c.GetResources())
		if a.CpuMillis > math.MaxInt64-total.CpuMillis || a.MemoryBytes > math.MaxInt64-total.MemoryBytes {
			return false
		}
		total.CpuMillis += a.CpuMillis
		total.MemoryBytes += a.MemoryBytes
	}
	return true
}

func validateContainerName(l *errorList, at, name string, seen map[string]string) {
	switch {
	case name == "":
		l.add(at, "required")
	case dnsLabelProblem(name) != "":
		l.add(at, "%s", dnsLabelRule)
	case strings.Contains(name, "--"):
		// The agent names the container REPLICA.NAME for containerd, whose
		// identifiers allow no two separators in a row.
		l.add(at, "must not hold two '-' in a row")
	default:
		if other, dup := seen[name]; dup {
			if !strings.Contains(other, "[") {
				l.add(at, "%q is %s", name, other)
			} else {
				l.add(at, "%q is already the name of %s", name, other)
			}
		}
	}
}

// defaultContainers fills each container's pids limit, as Default does the
// main container's.
func defaultContainers(spec *orchpb.ServiceSpec) {
	for _, list := range [][]*orchpb.ReplicaContainerSpec{spec.Init, spec.Sidecars} {
		for _, c := range list {
			if c == nil {
				continue
			}
			if c.Resources == nil {
				c.Resources = &orchpb.Resources{}
			}
			if c.Resources.Pids == 0 {
				c.Resources.Pids = c.Resources.PidsOrDefault()
			}
		}
	}
}

// amounts parses r; an unset or unparsable quantity is 0.
func amounts(r *orchpb.Resources) *orchpb.ResourceAmounts {
	out := &orchpb.ResourceAmounts{}
	if r.GetCpu() != "" {
		out.CpuMillis, _ = ParseCPU(r.GetCpu())
	}
	if r.GetMemory() != "" {
		out.MemoryBytes, _ = ParseMemory(r.GetMemory())
	}
	return out
}

// ContainerRequests returns the parsed resources of every container of a
// replica by name, the main one under the service's name; nil for a spec
// of one container.
func ContainerRequests(spec *orchpb.ServiceSpec) map[string]*orchpb.ResourceAmounts {
	if !spec.HasExtraContainers() {
		return nil
	}
	out := map[string]*orchpb.ResourceAmounts{spec.MainContainerName(): amounts(spec.GetResources())}
	for _, c := range spec.GetInit() {
		out[c.GetName()] = amounts(c.GetResources())
	}
	for _, c := range spec.GetSidecars() {
		out[c.GetName()] = amounts(c.GetResources())
	}
	return out
}

// Requests returns the parsed resources of a validated spec: what the
// scheduler reserves for each replica. The main container and its sidecars
// run together, so their requests add up; init containers run one at a
// time before them, so the replica needs the larger of that sum and any
// one init container's (as Kubernetes counts a pod). An unset or
// unparsable quantity is 0.
func Requests(spec *orchpb.ServiceSpec) *orchpb.ResourceAmounts {
	out := amounts(spec.GetResources())
	for _, c := range spec.GetSidecars() {
		a := amounts(c.GetResources())
		out.CpuMillis += a.CpuMillis
		out.MemoryBytes += a.MemoryBytes
	}
	for _, c := range spec.GetInit() {
		a := amounts(c.GetResources())
		out.CpuMillis = max(out.CpuMillis, a.CpuMillis)
		out.MemoryBytes = max(out.MemoryBytes, a.MemoryBytes)
	}
	return out
}
