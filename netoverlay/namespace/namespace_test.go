package namespace_test

import (
	"errors"
	"net"
	"os"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/orch-io/orch/netoverlay/internal/nettest"
	"github.com/orch-io/orch/netoverlay/namespace"
)

func TestEnsureDoDelete(t *testing.T) {
	nettest.RequireRoot(t)
	dir := nettest.NetNSDir(t)

	path, created, err := namespace.Ensure(dir, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if !created || !namespace.IsNetNS(path) {
		t.Fatalf("Ensure: created=%v IsNetNS=%v", created, namespace.IsNetNS(path))
	}
	again, created, err := namespace.Ensure(dir, "t1")
	if err != nil || created || again != path {
		t.Fatalf("second Ensure = %q, %v, %v; want %q, false, nil", again, created, err, path)
	}

	// Inside, only lo exists and it is a different namespace from ours.
	var inside []string
	err = namespace.Do(path, func() error {
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

	names, err := namespace.List(dir, "t")
	if err != nil || len(names) != 1 || names[0] != "t1" {
		t.Fatalf("List = %v, %v", names, err)
	}
	if err := namespace.Delete(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("namespace file still there after Delete: %v", err)
	}
	if err := namespace.Delete(path); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func TestEnsureReplacesStaleFile(t *testing.T) {
	nettest.RequireRoot(t)
	dir := nettest.NetNSDir(t)
	path := namespace.Path(dir, "stale")
	if err := os.WriteFile(path, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if namespace.IsNetNS(path) {
		t.Fatal("a plain file counts as a namespace")
	}
	if _, created, err := namespace.Ensure(dir, "stale"); err != nil || !created {
		t.Fatalf("Ensure over a stale file: created=%v err=%v", created, err)
	}
	if !namespace.IsNetNS(path) {
		t.Fatal("stale file was not replaced by a namespace")
	}
}

func TestEnsureRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b"} {
		if _, _, err := namespace.Ensure(t.TempDir(), name); err == nil {
			t.Errorf("Ensure(%q) succeeded", name)
		}
	}
}
