package vxlan

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/orch-io/orch/netoverlay/internal/ifaddr"
	"github.com/orch-io/orch/netoverlay/internal/nettest"
	"github.com/orch-io/orch/netoverlay/namespace"
)

// testHost is a network namespace standing for one node: an underlay
// address on a veth to the other test host, and a bridge holding the
// first address of its overlay subnet (where the bridge gateway would be).
type testHost struct {
	path   string
	nh     *netlink.Handle
	subnet netip.Prefix
	under  netip.Addr
}

func newNS(t *testing.T, dir, name string) (string, *netlink.Handle) {
	t.Helper()
	path, _, err := namespace.Ensure(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	nh, err := netlink.NewHandleAt(netns.NsHandle(fd), unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nh.Close)
	return path, nh
}

// twoHosts makes two namespaces joined by a veth (the underlay), each with a
// overlay gateway address on a bridge. Everything lives in namespaces the
// test made, in a namespace directory of its own, removed with it.
func twoHosts(t *testing.T) (a, b *testHost) {
	t.Helper()
	nettest.RequireRoot(t)
	dir := nettest.NetNSDir(t)
	pa, nha := newNS(t, dir, "a")
	pb, nhb := newNS(t, dir, "b")
	a = &testHost{path: pa, nh: nha, subnet: netip.MustParsePrefix("10.77.1.0/24"), under: netip.MustParseAddr("192.168.77.1")}
	b = &testHost{path: pb, nh: nhb, subnet: netip.MustParsePrefix("10.77.2.0/24"), under: netip.MustParseAddr("192.168.77.2")}
	fdB, err := unix.Open(pb, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fdB)
	if err := nha.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "ul0"}, PeerName: "ul0", PeerNamespace: netlink.NsFd(fdB)}); err != nil {
		t.Fatal(err)
	}
	for _, h := range []*testHost{a, b} {
		must(t, setUp(h.nh, "lo"))
		ul, err := h.nh.LinkByName("ul0")
		if err != nil {
			t.Fatal(err)
		}
		must(t, h.nh.AddrAdd(ul, &netlink.Addr{IPNet: ifaddr.IPNet(netip.PrefixFrom(h.under, 24))}))
		must(t, h.nh.LinkSetUp(ul))
		must(t, h.nh.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "gw0"}}))
		gw, err := h.nh.LinkByName("gw0")
		if err != nil {
			t.Fatal(err)
		}
		must(t, h.nh.AddrAdd(gw, &netlink.Addr{IPNet: ifaddr.IPNet(netip.PrefixFrom(h.subnet.Addr().Next(), 24))}))
		must(t, h.nh.LinkSetUp(gw))
	}
	return a, b
}

func setUp(nh *netlink.Handle, name string) error {
	l, err := nh.LinkByName(name)
	if err != nil {
		return err
	}
	return nh.LinkSetUp(l)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (h *testHost) ensure(t *testing.T) netlink.Link {
	t.Helper()
	link, err := Ensure(h.nh, Config{Name: "vxt", Local: h.under, Subnet: h.subnet})
	if err != nil {
		t.Fatal(err)
	}
	return link
}

func (h *testHost) peer() Peer { return Peer{Name: h.path, Subnet: h.subnet, Underlay: h.under} }

// reach checks that a TCP connection from from's overlay address reaches a
// listener on to's overlay address: through both VXLAN devices.
func reach(t *testing.T, from, to *testHost) error {
	t.Helper()
	dst := netip.AddrPortFrom(to.subnet.Addr().Next(), 7777)
	var ln net.Listener
	must(t, namespace.Do(to.path, func() (err error) {
		ln, err = net.Listen("tcp4", dst.String())
		return err
	}))
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, _ = c.Write([]byte("hi"))
			c.Close()
		}
	}()
	var conn net.Conn
	err := namespace.Do(from.path, func() (err error) {
		d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IP(from.subnet.Addr().Next().AsSlice())}}
		conn, err = d.Dial("tcp4", dst.String())
		return err
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	got, err := io.ReadAll(conn)
	if err != nil {
		return err
	}
	if string(got) != "hi" {
		return io.ErrUnexpectedEOF
	}
	return nil
}

func TestPeersReachEachOtherAndSyncRepairs(t *testing.T) {
	a, b := twoHosts(t)
	la, lb := a.ensure(t), b.ensure(t)
	if err := reach(t, a, b); err == nil {
		t.Fatal("reached b before any peer was installed: the test proves nothing")
	}
	ch, err := Sync(a.nh, la, a.subnet, []Peer{b.peer()})
	if err != nil || ch.Added != 3 {
		t.Fatalf("Sync a = %+v, %v; want 3 entries added", ch, err)
	}
	if _, err := Sync(b.nh, lb, b.subnet, []Peer{a.peer()}); err != nil {
		t.Fatal(err)
	}
	if err := reach(t, a, b); err != nil {
		t.Fatalf("a -> b over VXLAN: %v", err)
	}
	if err := reach(t, b, a); err != nil {
		t.Fatalf("b -> a over VXLAN: %v", err)
	}

	if ch, err := Sync(a.nh, la, a.subnet, []Peer{b.peer()}); err != nil || ch != (Changes{}) {
		t.Fatalf("second Sync = %+v, %v; want no changes", ch, err)
	}

	// Drift: the route is deleted by hand; the next Sync puts it back.
	routes, err := a.nh.RouteList(la, netlink.FAMILY_V4)
	must(t, err)
	for _, r := range routes {
		if r.Dst != nil && ifaddr.PrefixOf(r.Dst) == b.subnet {
			must(t, a.nh.RouteDel(&r))
		}
	}
	if err := reach(t, a, b); err == nil {
		t.Fatal("reached b with its route deleted")
	}
	if ch, err := Sync(a.nh, la, a.subnet, []Peer{b.peer()}); err != nil || ch.Added != 1 {
		t.Fatalf("repair Sync = %+v, %v; want the route added back", ch, err)
	}
	if err := reach(t, a, b); err != nil {
		t.Fatalf("after repair: %v", err)
	}

	// The peer moved to another underlay address: the FDB follows.
	moved := b.peer()
	moved.Underlay = netip.MustParseAddr("192.168.77.9")
	if _, err := Sync(a.nh, la, a.subnet, []Peer{moved}); err != nil {
		t.Fatal(err)
	}
	fdb, err := a.nh.NeighList(la.Attrs().Index, unix.AF_BRIDGE)
	must(t, err)
	var dsts []string
	for _, e := range fdb {
		if e.HardwareAddr.String() == MAC(b.subnet).String() {
			dsts = append(dsts, e.IP.String())
		}
	}
	if len(dsts) != 1 || dsts[0] != "192.168.77.9" {
		t.Fatalf("FDB destinations for b = %v, want only 192.168.77.9", dsts)
	}

	// The peer left: nothing of it stays.
	if ch, err := Sync(a.nh, la, a.subnet, nil); err != nil || ch.Removed != 3 {
		t.Fatalf("Sync without peers = %+v, %v; want 3 entries removed", ch, err)
	}
	if err := reach(t, a, b); err == nil {
		t.Fatal("reached b after it was removed")
	}
}

func TestSyncSkipsBadPeersButInstallsTheRest(t *testing.T) {
	a, b := twoHosts(t)
	la := a.ensure(t)
	bad := []Peer{
		{Name: "overlaps-local", Subnet: netip.MustParsePrefix("10.77.1.0/25"), Underlay: b.under},
		b.peer(),
		{Name: "overlaps-b", Subnet: netip.MustParsePrefix("10.77.2.128/25"), Underlay: b.under},
		{Name: "no-underlay", Subnet: netip.MustParsePrefix("10.77.3.0/24")},
	}
	ch, err := Sync(a.nh, la, a.subnet, bad)
	if err == nil {
		t.Fatal("Sync accepted overlapping and invalid peers without an error")
	}
	if ch.Added != 3 {
		t.Fatalf("added %d entries, want the 3 of the one good peer", ch.Added)
	}
}

func TestEnsureReplacesAnOutdatedDeviceAndDeleteRemovesIt(t *testing.T) {
	a, _ := twoHosts(t)
	first := a.ensure(t)
	again := a.ensure(t)
	if again.Attrs().Index != first.Attrs().Index {
		t.Fatal("Ensure with the same config recreated the device")
	}
	moved, err := Ensure(a.nh, Config{Name: "vxt", Local: a.under, Subnet: a.subnet, VNI: 99})
	if err != nil {
		t.Fatal(err)
	}
	if moved.(*netlink.Vxlan).VxlanId != 99 {
		t.Fatalf("VNI = %d, want 99", moved.(*netlink.Vxlan).VxlanId)
	}
	if moved.Attrs().HardwareAddr.String() != MAC(a.subnet).String() {
		t.Fatalf("MAC = %s, want %s", moved.Attrs().HardwareAddr, MAC(a.subnet))
	}
	must(t, Delete(a.nh, "vxt"))
	if _, err := a.nh.LinkByName("vxt"); err == nil {
		t.Fatal("device still there after Delete")
	}
	must(t, Delete(a.nh, "vxt"))
	if err := Delete(a.nh, "gw0"); err == nil {
		t.Fatal("Delete removed a bridge it does not own")
	}
}
