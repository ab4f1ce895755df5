package store

import (
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// TestDevicePlacementRechecked: the FSM refuses a write giving a device
// its node does not advertise or another replica there holds, and takes
// it once the holder was told to stop (preemption writes both in one
// command, the victim first).
func TestDevicePlacementRechecked(t *testing.T) {
	s := New()
	reg := registerNode("n1", "node1", 4000, 1<<30)
	reg.GetRegisterNode().Node.Devices = []*orchpb.DeviceGroup{{Name: "gpu", Paths: []string{"/dev/g0", "/dev/g1"}}}
	mustApply(t, s, reg)
	mustApply(t, s, putService("default", "a", 2, "img"))
	withGPU := func(id, path string) *orchpb.Replica {
		r := replica(id, "default", "a", 1, "n1", 0, 0)
		r.Devices = []*orchpb.DeviceGroup{{Name: "gpu", Paths: []string{path}}}
		return r
	}
	if res := mustApply(t, s, putReplicas(withGPU("r1", "/dev/g0"))); len(res.Rejected) > 0 {
		t.Fatalf("first holder rejected: %v", res.Rejected)
	}
	res := mustApply(t, s, putReplicas(withGPU("r2", "/dev/g0"), withGPU("r3", "/dev/g9")))
	if !strings.Contains(res.Rejected["r2"], "held by") || !strings.Contains(res.Rejected["r3"], "no device gpu at /dev/g9") {
		t.Fatalf("rejected %v, want r2 held by r1 and r3 not advertised", res.Rejected)
	}
	stop := withGPU("r1", "/dev/g0")
	stop.SetDesired(orchpb.DesiredStopped)
	res = mustApply(t, s, putReplicas(stop, withGPU("r2", "/dev/g0")))
	if len(res.Rejected) > 0 {
		t.Fatalf("a device freed in the same command: rejected %v", res.Rejected)
	}
	checkInvariants(t, s)
}
