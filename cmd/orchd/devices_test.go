package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDevices(t *testing.T) {
	got, err := parseDevices([]string{"gpu=/dev/g0,/dev/g1", "fpga=/dev/f0", "gpu=/dev/g2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "gpu" || strings.Join(got[0].Paths, ",") != "/dev/g0,/dev/g1,/dev/g2" ||
		got[1].Name != "fpga" || len(got[1].Paths) != 1 {
		t.Errorf("got %v", got)
	}
	for _, bad := range [][]string{{"gpu"}, {"=/dev/x"}, {"gpu="}, {"GPU=/dev/x"}, {"gpu=dev/x"}, {"a=/dev/x", "b=/dev/x"}} {
		if _, err := parseDevices(bad); err == nil || !strings.Contains(err.Error(), "--device") {
			t.Errorf("%q: err %v, want a --device error", bad, err)
		}
	}
	file := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	groups, _ := parseDevices([]string{"gpu=" + file})
	if err := checkDeviceNodes(groups); err == nil || !strings.Contains(err.Error(), "not a device node") {
		t.Errorf("a plain file: err %v, want not a device node", err)
	}
	groups, _ = parseDevices([]string{"null=/dev/null"})
	if err := checkDeviceNodes(groups); err != nil {
		t.Errorf("/dev/null: %v", err)
	}
}
