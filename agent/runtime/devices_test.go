package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mknodNull makes a character device node 1:3 (a copy of /dev/null) at
// path: a device any machine has, so the test needs no hardware.
func mknodNull(t *testing.T, path string) {
	t.Helper()
	if err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatalf("mknod %s: %v", path, err)
	}
}

// TestDevices: a container gets exactly the device nodes it is given, at
// their host paths, with a cgroup rule allowing each; another node of the
// same directory stays out of it.
func TestDevices(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	dir, err := os.MkdirTemp("", "orch-devices")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	given, other := filepath.Join(dir, "gpu0"), filepath.Join(dir, "gpu1")
	mknodNull(t, given)
	mknodNull(t, other)

	cfg := e.config("dev-given", "/testbin", "write", given)
	cfg.Devices = []string{given}
	if got := e.runOutput(t, cfg, "write:"); !strings.Contains(got, "write: <nil>") {
		t.Errorf("write to the given device: %q, want it to succeed", got)
	}
	ctr, err := e.rt.client.LoadContainer(e.rt.ns(ctx), cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ctr.Spec(e.rt.ns(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(spec.Linux.Devices, func(d specs.LinuxDevice) bool { return d.Path == given && d.Major == 1 && d.Minor == 3 }) {
		t.Errorf("spec devices %+v lack %s (1:3)", spec.Linux.Devices, given)
	}
	allowed := false
	for _, r := range spec.Linux.Resources.Devices {
		if r.Allow && r.Type == "c" && r.Major != nil && *r.Major == 1 && r.Minor != nil && *r.Minor == 3 && r.Access == "rwm" {
			allowed = true
		}
	}
	if !allowed {
		t.Errorf("no cgroup rule allowing c 1:3 rwm in %+v", spec.Linux.Resources.Devices)
	}

	// Only the given node exists in the container (its directory too, so a
	// read, not a write that would create a file, tells).
	out := e.config("dev-other", "/testbin", "show", other)
	out.Devices = []string{given}
	if got := e.runOutput(t, out, "open"); !strings.Contains(got, "no such file or directory") {
		t.Errorf("read of a device not given: %q, want no such file or directory", got)
	}
}
