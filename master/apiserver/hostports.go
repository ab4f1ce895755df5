package apiserver

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/endpoint"
	orchpb "github.com/orch-io/orch/proto"
)

// DefaultHostPortRange is what services may publish unless the master's
// --host-port-range says otherwise: no privileged port (a service would
// take the node's SSH or DNS), and orch's own ports are always left out.
const DefaultHostPortRange = "1024-65535"

// orchPorts are the ports orch itself listens on by default: DNS on the
// bridge gateway, VXLAN, the API, Raft and the agent's endpoint. A host
// port there would capture the cluster's own traffic on that node.
var orchPorts = []int{53, 4789, 7400, 7401, 7402}

// HostPortPolicy is which host ports a service may publish. A port is
// allowed when a range holds it; one of orch's own ports only when the
// range names it alone (--host-port-range 53 or 53-53), so that widening
// the range never opens them by accident.
type HostPortPolicy struct {
	ranges   [][2]int
	reserved []int
}

// ParseHostPortRange reads --host-port-range: comma-separated ports and
// ranges (LOW-HIGH); "" is DefaultHostPortRange. reserved are ports this
// master listens on besides orch's defaults (its API and Raft ports).
func ParseHostPortRange(spec string, reserved ...int) (HostPortPolicy, error) {
	if strings.TrimSpace(spec) == "" {
		spec = DefaultHostPortRange
	}
	p := HostPortPolicy{reserved: slices.Concat(orchPorts, reserved)}
	for part := range strings.SplitSeq(spec, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		if !isRange {
			hi = lo
		}
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		if errA != nil || errB != nil || a < 1 || b > 65535 || a > b {
			return HostPortPolicy{}, fmt.Errorf("--host-port-range: %q: want PORT or LOW-HIGH within 1-65535, comma-separated", part)
		}
		p.ranges = append(p.ranges, [2]int{a, b})
	}
	return p, nil
}

// allows reports whether port may be published, and if not, why.
func (p HostPortPolicy) allows(port int) (bool, string) {
	alone := slices.Contains(p.ranges, [2]int{port, port})
	if slices.Contains(p.reserved, port) {
		return alone, "is a port orch itself uses on every node; the master's --host-port-range must name it alone to allow it"
	}
	for _, r := range p.ranges {
		if r[0] <= port && port <= r[1] {
			return true, ""
		}
	}
	return false, "is outside the host ports this cluster allows (" + p.String() + "; the master's --host-port-range)"
}

// String is the ranges as the flag takes them.
func (p HostPortPolicy) String() string {
	parts := make([]string, len(p.ranges))
	for i, r := range p.ranges {
		parts[i] = strconv.Itoa(r[0])
		if r[1] != r[0] {
			parts[i] += "-" + strconv.Itoa(r[1])
		}
	}
	return strings.Join(parts, ",")
}

// Check answers 400, naming the field, for the first host port of spec
// the policy refuses; nil when every one is allowed.
func (p HostPortPolicy) Check(spec *orchpb.ServiceSpec) *api.Error {
	for i, port := range spec.GetPorts() {
		hp := int(port.GetHostPort())
		if hp <= 0 {
			continue
		}
		if ok, why := p.allows(hp); !ok {
			field := fmt.Sprintf("ports[%d].hostPort", i)
			return endpoint.BadRequest(field, fmt.Sprintf("%s: %d %s", field, hp, why))
		}
	}
	return nil
}

// hostPorts is the policy the server admits services with.
func (s *Server) hostPorts() HostPortPolicy {
	if s.deps.HostPorts.ranges == nil {
		p, _ := ParseHostPortRange(DefaultHostPortRange)
		return p
	}
	return s.deps.HostPorts
}
