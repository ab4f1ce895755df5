package api

import (
	"fmt"
	"path/filepath"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
)

// Device resources: a node advertises paths under a name (orchd agent
// --device gpu=/dev/nvidia0,/dev/nvidia1), a service asks for a count per
// name (placement.devices), and the container gets the paths it was given
// and their list in DeviceEnvPrefix+NAME (docs/manifest.md).

// DeviceEnvPrefix starts the environment variable that lists a replica's
// devices of one name: ORCH_DEVICES_GPU=/dev/nvidia0,/dev/nvidia1.
const DeviceEnvPrefix = "ORCH_DEVICES_"

// DeviceEnv is the variable listing the devices of name: the prefix, then
// the name upper-cased with '-' as '_'.
func DeviceEnv(name string) string {
	return DeviceEnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// DeviceNameProblem says what is wrong with a device name, or "": 1 to 63
// lower-case letters, digits and '-', starting with a letter, so that it
// makes a clean variable name.
func DeviceNameProblem(name string) string {
	if name == "" || len(name) > 63 {
		return "must be 1 to 63 characters"
	}
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z':
		case (c >= '0' && c <= '9' || c == '-') && i > 0:
		default:
			return fmt.Sprintf("%q: want lower-case letters, digits and '-', starting with a letter", name)
		}
	}
	return ""
}

// CheckDeviceGroups checks advertised devices: valid names, each given
// once, absolute clean paths under /dev or elsewhere, no path twice. field
// names the first problem (devices[1].paths[0]).
func CheckDeviceGroups(groups []*orchpb.DeviceGroup) (field, msg string) {
	names := map[string]bool{}
	paths := map[string]bool{}
	for i, g := range groups {
		at := fmt.Sprintf("devices[%d]", i)
		if p := DeviceNameProblem(g.GetName()); p != "" {
			return at + ".name", p
		}
		if names[g.GetName()] {
			return at + ".name", fmt.Sprintf("%q given twice", g.GetName())
		}
		names[g.GetName()] = true
		if len(g.GetPaths()) == 0 {
			return at + ".paths", "at least one path"
		}
		for j, p := range g.GetPaths() {
			if !filepath.IsAbs(p) || filepath.Clean(p) != p {
				return fmt.Sprintf("%s.paths[%d]", at, j), fmt.Sprintf("%q: want an absolute, clean path", p)
			}
			if paths[p] {
				return fmt.Sprintf("%s.paths[%d]", at, j), fmt.Sprintf("%q given twice", p)
			}
			paths[p] = true
		}
	}
	return "", ""
}
