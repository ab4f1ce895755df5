// Package nettest holds what the overlay's tests share: skipping without
// root, a private directory for named network namespaces, and an overlay
// subnet no route on the machine uses.
package nettest

import (
	"crypto/rand"
	"math/big"
	"net/netip"
	"os"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/orch-io/orch/netoverlay/internal/ifaddr"
	"github.com/orch-io/orch/netoverlay/namespace"
)

// RequireRoot skips the test unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create links and network namespaces")
	}
}

// NetNSDir returns a namespace directory of the test's own. When the test
// ends, passed or failed, every namespace left in it is deleted and the
// directory (which namespace.Ensure makes a mount point) unmounted.
func NetNSDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() {
		names, _ := namespace.List(dir, "")
		for _, n := range names {
			_ = namespace.Delete(namespace.Path(dir, n))
		}
		_ = unix.Unmount(dir, unix.MNT_DETACH)
	})
	return dir
}

// FreeSubnet picks a /24 in 10.244.200.0-10.244.254.0 that no route on this
// machine overlaps, so a test bridge holding it never takes traffic meant
// for a real network (a node's own overlay included).
func FreeSubnet(t testing.TB) netip.Prefix {
	t.Helper()
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		n, _ := rand.Int(rand.Reader, big.NewInt(55))
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 244, byte(200 + n.Int64()), 0}), 24)
		taken := false
		for _, r := range routes {
			if r.Dst == nil {
				continue // the default route
			}
			if dst := ifaddr.PrefixOf(r.Dst); dst.Bits() > 0 && dst.Overlaps(p) {
				taken = true
			}
		}
		if !taken {
			return p
		}
	}
	t.Fatal("no free test subnet in 10.244.200.0-10.244.254.0")
	return netip.Prefix{}
}
