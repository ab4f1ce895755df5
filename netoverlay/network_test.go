package netoverlay

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/orch-io/orch/netoverlay/internal/nettest"
	"github.com/orch-io/orch/netoverlay/namespace"
)

type testNet struct {
	*Network
	cfg Config
}

// newTestNetwork builds a Network with a unique bridge, prefix, private
// namespace directory and subnet, and removes all of it when the test ends,
// whether or not it failed.
func newTestNetwork(t *testing.T) *testNet { t.Helper(); return newTestNetworkWith(t, nil) }

// newTestNetworkWith is newTestNetwork with the config changed by mod.
func newTestNetworkWith(t *testing.T, mod func(*Config)) *testNet {
	t.Helper()
	nettest.RequireRoot(t)
	b := make([]byte, 2)
	rand.Read(b)
	suffix := hex.EncodeToString(b)
	// Its cleanup is registered before New, so a New that fails half-way is
	// cleaned too, and runs after the Cleanup below (LIFO) as a safety net.
	nsDir := nettest.NetNSDir(t)
	cfg := Config{
		BridgeName:  "orcht" + suffix,
		Subnet:      nettest.FreeSubnet(t),
		StateDir:    t.TempDir(),
		NetNSPrefix: "orcht-" + suffix + "-",
		NetNSDir:    nsDir,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mod != nil {
		mod(&cfg)
	}
	t.Cleanup(func() {
		links, _ := netlink.LinkList()
		for _, l := range links {
			if l.Attrs().Name == cfg.BridgeName {
				_ = netlink.LinkDel(l)
			}
		}
	})
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Veth names hash the bridge, so leftovers are found through it.
		for _, id := range n.Attached() {
			_ = deleteLink(n.hostVethName(id))
		}
		if err := n.Cleanup(); err != nil {
			t.Errorf("Cleanup: %v", err)
		}
	})
	return &testNet{Network: n, cfg: cfg}
}

// serveInNS starts a TCP server inside the namespace at nsPath that greets
// every connection with greeting. The listening socket is made on a thread in
// that namespace and stays there; accepting needs no special thread.
func serveInNS(t *testing.T, nsPath string, addr netip.AddrPort, greeting string) {
	t.Helper()
	var ln net.Listener
	err := namespace.Do(nsPath, func() error {
		var err error
		ln, err = net.Listen("tcp4", addr.String())
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", nsPath, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, greeting)
			c.Close()
		}
	}()
}

func readGreeting(addr netip.AddrPort) (string, error) {
	c, err := net.DialTimeout("tcp4", addr.String(), 3*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// greetingFrom dials addr from inside the namespace at nsPath (or from the
// test's own namespace when nsPath is empty).
func greetingFrom(nsPath string, addr netip.AddrPort) (string, error) {
	if nsPath == "" {
		return readGreeting(addr)
	}
	var got string
	err := namespace.Do(nsPath, func() error {
		var err error
		got, err = readGreeting(addr)
		return err
	})
	return got, err
}

func mustSetup(t *testing.T, n *Network, id string) Attachment {
	t.Helper()
	a, err := n.Setup(context.Background(), id)
	if err != nil {
		t.Fatalf("Setup(%s): %v", id, err)
	}
	return a
}

func linkExists(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

func TestTwoReplicasTalk(t *testing.T) {
	n := newTestNetwork(t)
	ctx := context.Background()
	a, b := setUpTwoReplicas(t, n)

	bAddr := netip.AddrPortFrom(b.IP, 8080)
	serveInNS(t, b.NetNSPath, bAddr, "hello from b")
	checkReachesB(t, "fresh", a, bAddr)

	// The replica side: eth0 with the address, default route via the gateway.
	checkReplicaSide(t, a)

	setupRepairs(t, n, a, bAddr)

	// An agent restart: a new Network over the same state finds the same
	// addresses.
	n2, err := New(n.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if again := mustSetup(t, n2, "replica-b"); again != b {
		t.Fatalf("Setup after restart = %+v, want %+v", again, b)
	}
	checkReachesB(t, "after restart", a, bAddr)

	// Teardown removes a's pieces and is idempotent.
	if err := n.Teardown(ctx, "replica-a"); err != nil {
		t.Fatal(err)
	}
	if err := n.Teardown(ctx, "replica-a"); err != nil {
		t.Fatalf("second Teardown: %v", err)
	}
	if linkExists(n.hostVethName("replica-a")) {
		t.Fatal("veth of replica-a left after Teardown")
	}
	if _, err := os.Stat(a.NetNSPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("netns of replica-a left after Teardown: %v", err)
	}
	if got := n.Attached(); !slices.Equal(got, []string{"replica-b"}) {
		t.Fatalf("Attached after Teardown = %v", got)
	}
	if got, err := greetingFrom("", bAddr); err != nil || got != "hello from b" {
		t.Fatalf("b unreachable after a's Teardown: %q, %v", got, err)
	}
	checkCleanupRemovesAll(t, n)
}

// setUpTwoReplicas attaches replica-a and replica-b and checks their
// addresses, namespaces, host veths, and that a second Setup is the same.
func setUpTwoReplicas(t *testing.T, n *testNet) (a, b Attachment) {
	gw := n.Gateway()
	a = mustSetup(t, n.Network, "replica-a")
	b = mustSetup(t, n.Network, "replica-b")
	if a.IP == b.IP || !n.Subnet().Contains(a.IP) || !n.Subnet().Contains(b.IP) {
		t.Fatalf("addresses %s and %s (subnet %s)", a.IP, b.IP, n.Subnet())
	}
	if a.Gateway != gw || a.IP == gw || b.IP == gw {
		t.Fatalf("gateway %s, attachments %+v %+v", gw, a, b)
	}
	if want := filepath.Join(n.cfg.NetNSDir, n.cfg.NetNSPrefix); !strings.HasPrefix(a.NetNSPath, want) {
		t.Fatalf("netns path %s does not start with %s", a.NetNSPath, want)
	}
	if name := n.hostVethName("replica-a"); len(name) > 15 || !linkExists(name) {
		t.Fatalf("host veth %q missing or too long", name)
	}
	if again := mustSetup(t, n.Network, "replica-a"); again != a {
		t.Fatalf("re-Setup = %+v, want %+v", again, a)
	}
	if got := n.Attached(); !slices.Equal(got, []string{"replica-a", "replica-b"}) {
		t.Fatalf("Attached = %v", got)
	}
	return a, b
}

// checkReachesB checks that the host and replica a get b's greeting.
func checkReachesB(t *testing.T, step string, a Attachment, bAddr netip.AddrPort) {
	t.Helper()
	for _, from := range []struct{ name, ns string }{{"host", ""}, {"replica-a", a.NetNSPath}} {
		got, err := greetingFrom(from.ns, bAddr)
		if err != nil || got != "hello from b" {
			t.Fatalf("%s: %s -> %s: %q, %v", step, from.name, bAddr, got, err)
		}
	}
}

// setupRepairs breaks a's host veth, then the bridge, and checks that
// Setup repairs each.
func setupRepairs(t *testing.T, n *testNet, a Attachment, bAddr netip.AddrPort) {
	// Repair: the host end of a's veth vanishes; Setup puts it back.
	if err := deleteLink(n.hostVethName("replica-a")); err != nil {
		t.Fatal(err)
	}
	if _, err := greetingFrom(a.NetNSPath, bAddr); err == nil {
		t.Fatal("replica-a still reaches b without its veth: the test cannot see breakage")
	}
	if again := mustSetup(t, n.Network, "replica-a"); again != a {
		t.Fatalf("repairing Setup = %+v, want %+v", again, a)
	}
	checkReachesB(t, "after veth repair", a, bAddr)

	// Repair: the bridge goes down; Setup brings it up.
	br, _ := netlink.LinkByName(n.cfg.BridgeName)
	if err := netlink.LinkSetDown(br); err != nil {
		t.Fatal(err)
	}
	mustSetup(t, n.Network, "replica-a")
	checkReachesB(t, "after bridge repair", a, bAddr)
}

// checkCleanupRemovesAll runs Cleanup and checks that it removes the
// rest: the remaining replicas, the bridge, the state.
func checkCleanupRemovesAll(t *testing.T, n *testNet) {
	if err := n.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if linkExists(n.hostVethName("replica-b")) || linkExists(n.cfg.BridgeName) {
		t.Fatal("veth or bridge left after Cleanup")
	}
	if names, _ := namespace.List(n.cfg.NetNSDir, n.cfg.NetNSPrefix); len(names) != 0 {
		t.Fatalf("namespaces left after Cleanup: %v", names)
	}
	if got := n.Attached(); len(got) != 0 {
		t.Fatalf("Attached after Cleanup = %v", got)
	}
	if entries, _ := os.ReadDir(n.cfg.StateDir); len(entries) != 0 {
		t.Fatalf("state left after Cleanup: %v", entries)
	}
}

func checkReplicaSide(t *testing.T, a Attachment) {
	t.Helper()
	fd, err := netns.GetFromPath(a.NetNSPath)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	nh, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	eth0, err := nh.LinkByName("eth0")
	if err != nil {
		t.Fatalf("eth0 in %s: %v", a.NetNSPath, err)
	}
	addrs, _ := nh.AddrList(eth0, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != a.IP.String()+"/24" {
		t.Fatalf("eth0 addresses %v, want %s/24", addrs, a.IP)
	}
	routes, _ := nh.RouteList(eth0, netlink.FAMILY_V4)
	found := false
	for _, r := range routes {
		if (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") && r.Gw.Equal(net.IP(a.Gateway.AsSlice())) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no default route via %s in %s: %v", a.Gateway, a.NetNSPath, routes)
	}
	lo, _ := nh.LinkByName("lo")
	if lo == nil || lo.Attrs().Flags&net.FlagUp == 0 {
		t.Fatal("lo is not up inside the replica")
	}
}

func TestSetupAfterNamespaceLoss(t *testing.T) {
	n := newTestNetwork(t)
	a := mustSetup(t, n.Network, "r1")
	// As after a reboot: the namespace is gone, an empty file remains.
	if err := namespace.Delete(a.NetNSPath); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.NetNSPath, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	again := mustSetup(t, n.Network, "r1")
	if again != a {
		t.Fatalf("Setup after loss = %+v, want %+v", again, a)
	}
	if !namespace.IsNetNS(again.NetNSPath) {
		t.Fatal("namespace not recreated")
	}
	checkReplicaSide(t, again)
	if got, err := greetingFrom(again.NetNSPath, netip.AddrPortFrom(again.Gateway, 1)); err == nil {
		t.Fatalf("unexpected answer %q from a closed port", got)
	} else if !errors.Is(err, unix.ECONNREFUSED) {
		// Refused means the gateway answered, so the path is up.
		t.Fatalf("gateway unreachable from the recreated namespace: %v", err)
	}
}

func TestCleanupRemovesUnknownLeftovers(t *testing.T) {
	n := newTestNetwork(t)
	a := mustSetup(t, n.Network, "r1")
	// Forget r1 in the state, as if the state file had been lost.
	if err := n.ipam.Release("r1"); err != nil {
		t.Fatal(err)
	}
	if err := n.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if linkExists(n.hostVethName("r1")) || linkExists(n.cfg.BridgeName) {
		t.Fatal("leftover veth or bridge after Cleanup")
	}
	if _, err := os.Stat(a.NetNSPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover namespace after Cleanup: %v", err)
	}
}

func TestSetupHonoursContext(t *testing.T) {
	n := newTestNetwork(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := n.Setup(ctx, "r1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Setup with a cancelled context = %v", err)
	}
	if got := n.Attached(); len(got) != 0 {
		t.Fatalf("a cancelled Setup allocated: %v", got)
	}
}

func TestNewValidates(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"no state dir", Config{Subnet: netip.MustParsePrefix("10.244.3.0/24")}},
		{"long bridge name", Config{BridgeName: "a-very-long-bridge", Subnet: netip.MustParsePrefix("10.244.3.0/24"), StateDir: t.TempDir()}},
		{"no subnet", Config{StateDir: t.TempDir()}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := New(c.cfg); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}

// Setup wakes Run only for a new address (a host port may wait for it),
// not when a restarting replica asks again.
func TestSetupKicksSyncOnlyForANewAddress(t *testing.T) {
	n := newTestNetwork(t)
	mustSetup(t, n.Network, "r1")
	if len(n.kickCh) != 1 {
		t.Fatal("Setup of a new replica did not wake Run")
	}
	<-n.kickCh
	mustSetup(t, n.Network, "r1")
	if len(n.kickCh) != 0 {
		t.Fatal("Setup of a replica with an address woke Run")
	}
}

// TestCleanupByNameMakesNothing: the package-level Cleanup (orchd agent
// --cleanup, which does not know the node's subnet) removes a network it
// did not make, and never gives the bridge another address on the way.
func TestCleanupByNameMakesNothing(t *testing.T) {
	n := newTestNetwork(t)
	a := mustSetup(t, n.Network, "replica-a")
	br, err := netlink.LinkByName(n.cfg.BridgeName)
	if err != nil {
		t.Fatal(err)
	}
	// Watch the bridge's addresses while Cleanup runs: the only one it may
	// ever hold is the gateway New gave it.
	updates, done := make(chan netlink.AddrUpdate, 64), make(chan struct{})
	if err := netlink.AddrSubscribe(updates, done); err != nil {
		t.Fatal(err)
	}
	cfg := n.cfg
	cfg.Subnet = netip.Prefix{} // what --cleanup knows
	if err := Cleanup(cfg); err != nil {
		t.Fatal(err)
	}
	close(done)
	for u := range updates {
		if u.LinkIndex == br.Attrs().Index && u.NewAddr {
			t.Errorf("Cleanup gave the bridge address %s", u.LinkAddress.String())
		}
	}
	if linkExists(n.hostVethName("replica-a")) || linkExists(n.cfg.BridgeName) {
		t.Fatal("veth or bridge left after Cleanup")
	}
	if _, err := os.Stat(a.NetNSPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("netns left after Cleanup: %v", err)
	}
	if entries, _ := os.ReadDir(n.cfg.StateDir); len(entries) != 0 {
		t.Fatalf("state left after Cleanup: %v", entries)
	}
}
