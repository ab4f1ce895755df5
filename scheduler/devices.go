package scheduler

import (
	"fmt"
	"slices"

	orchpb "github.com/orch-io/orch/proto"
)

// Devices are whole: a path a node advertises under a name (gpu) is held
// by at most one replica at a time. The view keeps the paths in use per
// node; a placement takes the first free paths in the order the node
// advertised them, so the same input gives the same devices.

// holdDevices records the device paths a replica holds on node i.
func (v *view) holdDevices(i int32, groups []*orchpb.DeviceGroup) {
	if len(groups) > 0 && v.devUsed == nil {
		v.devUsed = make([]map[string]struct{}, len(v.nodes))
	}
	for _, g := range groups {
		for _, p := range g.GetPaths() {
			if v.devUsed[i] == nil {
				v.devUsed[i] = make(map[string]struct{}, 1)
			}
			v.devUsed[i][p] = struct{}{}
		}
	}
}

// freeDevices returns node i's free paths of device name, up to limit.
func (v *view) freeDevices(i int32, name string, limit int32) []string {
	var out []string
	for _, g := range v.nodes[i].GetDevices() {
		if g.GetName() != name {
			continue
		}
		for _, p := range g.GetPaths() {
			if int32(len(out)) == limit {
				return out
			}
			if v.devUsed == nil {
				out = append(out, p)
			} else if _, used := v.devUsed[i][p]; !used {
				out = append(out, p)
			}
		}
	}
	return out
}

// takeDevices holds, on node i, the devices want asks for (name → count)
// and returns them, by name. The caller checked that they are free.
func (v *view) takeDevices(i int32, want map[string]int32) []*orchpb.DeviceGroup {
	if len(want) == 0 {
		return nil
	}
	var out []*orchpb.DeviceGroup
	for _, name := range sortedNames(want) {
		if want[name] <= 0 {
			continue
		}
		out = append(out, &orchpb.DeviceGroup{Name: name, Paths: v.freeDevices(i, name, want[name])})
	}
	v.holdDevices(i, out)
	return out
}

func sortedNames(m map[string]int32) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// deviceFilters test each device name want asks for, in name order.
func deviceFilters(v *view, want map[string]int32) []filter {
	var fs []filter
	for _, name := range sortedNames(want) {
		if want[name] > 0 {
			fs = append(fs, deviceFilter{v, name, want[name]})
		}
	}
	return fs
}

// deviceFilter keeps the nodes with at least need free paths of a device.
type deviceFilter struct {
	v    *view
	name string
	need int32
}

func (f deviceFilter) check(i int32) bool {
	return int32(len(f.v.freeDevices(i, f.name, f.need))) == f.need
}
func (f deviceFilter) explain(n int) string {
	return fmt.Sprintf("%d %s device %s (need %d)", n, verb(n, "lacks", "lack"), f.name, f.need)
}
