package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
)

// parseDevices reads the --device flags, each NAME=PATH[,PATH...]; a name
// given twice gathers the paths of both.
func parseDevices(flags []string) ([]*orchpb.DeviceGroup, error) {
	var out []*orchpb.DeviceGroup
	byName := map[string]*orchpb.DeviceGroup{}
	for _, f := range flags {
		name, list, ok := strings.Cut(f, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || len(splitList(list)) == 0 {
			return nil, fmt.Errorf("--device %q: want NAME=PATH[,PATH...]", f)
		}
		g := byName[name]
		if g == nil {
			g = &orchpb.DeviceGroup{Name: name}
			byName[name] = g
			out = append(out, g)
		}
		g.Paths = append(g.Paths, splitList(list)...)
	}
	if field, msg := api.CheckDeviceGroups(out); field != "" {
		return nil, fmt.Errorf("--device: %s: %s", field, msg)
	}
	return out, nil
}

// checkDeviceNodes makes sure every advertised path is a device node on
// this machine, so that a typo fails the agent's start and not, later,
// every container given that device.
func checkDeviceNodes(groups []*orchpb.DeviceGroup) error {
	for _, g := range groups {
		for _, p := range g.GetPaths() {
			fi, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("--device %s=%s: %w", g.GetName(), p, err)
			}
			if fi.Mode()&os.ModeDevice == 0 {
				return fmt.Errorf("--device %s=%s: not a device node", g.GetName(), p)
			}
		}
	}
	return nil
}
