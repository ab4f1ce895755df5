package agent

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// TestWorkerCreateGivesDevices: the container gets the replica's devices
// and ORCH_DEVICES_<NAME> listing them; a device the node never advertised
// is refused before anything is created.
func TestWorkerCreateGivesDevices(t *testing.T) {
	ip := netip.MustParseAddr("10.1.0.2")
	advertised := []*orchpb.DeviceGroup{{Name: "gpu", Paths: []string{"/dev/g0", "/dev/g1"}}, {Name: "fpga-x", Paths: []string{"/dev/f0"}}}
	rt := &configRuntime{fakeRuntime: newFakeRuntime()}
	env := testEnv(t, rt)
	env.devices = advertised
	asg := assignment("r1", orchpb.RestartAlways, 8080)
	asg.Spec.Env = map[string]string{"A": "1"}
	asg.Replica.Devices = []*orchpb.DeviceGroup{{Name: "gpu", Paths: []string{"/dev/g1"}}, {Name: "fpga-x", Paths: []string{"/dev/f0"}}}
	if err := newReplicaWorker(env, asg, nil, nil).create(context.Background(), ip, ""); err != nil {
		t.Fatal(err)
	}
	if got := rt.cfg.Devices; !slices.Equal(got, []string{"/dev/g1", "/dev/f0"}) {
		t.Errorf("devices %v, want [/dev/g1 /dev/f0]", got)
	}
	if e := rt.cfg.Env; e["ORCH_DEVICES_GPU"] != "/dev/g1" || e["ORCH_DEVICES_FPGA_X"] != "/dev/f0" || e["A"] != "1" {
		t.Errorf("env %v", e)
	}
	if asg.Spec.Env["ORCH_DEVICES_GPU"] != "" {
		t.Error("the spec's env map was modified")
	}

	asg2 := assignment("r2", orchpb.RestartAlways, 8080)
	asg2.Replica.Devices = []*orchpb.DeviceGroup{{Name: "gpu", Paths: []string{"/dev/sda"}}}
	rt2 := &configRuntime{fakeRuntime: newFakeRuntime()}
	env2 := testEnv(t, rt2)
	env2.devices = advertised
	err := newReplicaWorker(env2, asg2, nil, nil).create(context.Background(), ip, "")
	if !errors.Is(err, errNotCreated) || rt2.cfg.ID != "" {
		t.Errorf("unadvertised device: err %v, created %q; want errNotCreated and nothing created", err, rt2.cfg.ID)
	}
}
