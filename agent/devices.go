package agent

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
)

// deviceConfig returns the device paths a replica's container gets and its
// environment with one variable per device name listing them
// (ORCH_DEVICES_GPU=/dev/nvidia0,/dev/nvidia1). A path this node did not
// advertise under that name is refused: the masters choose among the
// node's devices, they cannot hand out any file of the machine.
func deviceConfig(rep *orchpb.Replica, env map[string]string, advertised []*orchpb.DeviceGroup) ([]string, map[string]string, error) {
	if len(rep.GetDevices()) == 0 {
		return nil, env, nil
	}
	out := maps.Clone(env)
	if out == nil {
		out = map[string]string{}
	}
	var paths []string
	for _, g := range rep.GetDevices() {
		i := slices.IndexFunc(advertised, func(a *orchpb.DeviceGroup) bool { return a.GetName() == g.GetName() })
		for _, p := range g.GetPaths() {
			if i < 0 || !slices.Contains(advertised[i].GetPaths(), p) {
				return nil, nil, fmt.Errorf("device %s at %s: this node does not advertise it", g.GetName(), p)
			}
		}
		paths = append(paths, g.GetPaths()...)
		out[api.DeviceEnv(g.GetName())] = strings.Join(g.GetPaths(), ",")
	}
	return paths, out, nil
}
