package namespace

import (
	"errors"
	"net"
	"os"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
}

// tempNetNSDir returns a private namespace directory and unmounts it (Ensure
// makes it a mount point) before the temp dir is removed.
func tempNetNSDir(t *testing.T) string {
	dir := t.TempDir()
	t.Cleanup(func() {
		names, _ := List(dir, "")
		for _, n := range names {
			_ = Delete(Path(dir, n))
		}
		_ = unix.Unmount(dir, unix.MNT_DETACH)
	})
	return dir
}

func TestEnsureDoDelete(t *testing.T) {
	requireRoot(t)
	dir := tempNetNSDir(t)

	path, created, err := Ensure(dir, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if !created || !IsNetNS(path) {
		t.Fatalf("Ensure: created=%v IsNetNS=%v", created, IsNetNS(path))
	}
	again, created, err := Ensure(dir, "t1")
	if err != nil || created || again != path {
		t.Fatalf("second Ensure = %q, %v, %v; want %q, false, nil", again, created, err, path)
	}

	// Inside, only lo exists and it is a different namespace from ours.
	var inside []string
	err = Do(path, func() error {
		ifs, err := net.Interfaces()
		for _, i := range ifs {
			inside = append(inside, i.Name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(inside) != 1 || inside[0] != "lo" {
		t.Fatalf("interfaces inside the new namespace: %v, want [lo]", inside)
	}
	// The calling thread did not move: the root namespace still has its links.
	if links, _ := netlink.LinkList(); len(links) < 2 {
		t.Fatalf("the test's own namespace looks empty (%d links): a thread leaked into the new one", len(links))
	}

	names, err := List(dir, "t")
	if err != nil || len(names) != 1 || names[0] != "t1" {
		t.Fatalf("List = %v, %v", names, err)
	}
	if err := Delete(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("namespace file still there after Delete: %v", err)
	}
	if err := Delete(path); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func TestEnsureReplacesStaleFile(t *testing.T) {
	requireRoot(t)
	dir := tempNetNSDir(t)
	path := Path(dir, "stale")
	if err := os.WriteFile(path, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if IsNetNS(path) {
		t.Fatal("a plain file counts as a namespace")
	}
	if _, created, err := Ensure(dir, "stale"); err != nil || !created {
		t.Fatalf("Ensure over a stale file: created=%v err=%v", created, err)
	}
	if !IsNetNS(path) {
		t.Fatal("stale file was not replaced by a namespace")
	}
}

func TestEnsureRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b"} {
		if _, _, err := Ensure(t.TempDir(), name); err == nil {
			t.Errorf("Ensure(%q) succeeded", name)
		}
	}
}
