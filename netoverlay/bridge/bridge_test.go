package bridge

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/orch-io/orch/netoverlay/internal/ifaddr"
	"github.com/orch-io/orch/netoverlay/internal/nettest"
)

func testName(t *testing.T) string {
	b := make([]byte, 2)
	rand.Read(b)
	name := "orcht" + hex.EncodeToString(b)
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(name); err == nil {
			_ = netlink.LinkDel(l)
		}
	})
	return name
}

func v4Addrs(t *testing.T, l netlink.Link) []string {
	t.Helper()
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range addrs {
		out = append(out, a.IPNet.String())
	}
	return out
}

func TestEnsureCreatesAndRepairs(t *testing.T) {
	nettest.RequireRoot(t)
	name := testName(t)
	// A test-only subnet: it lives only on this bridge, nothing routes it out.
	gw := netip.PrefixFrom(nettest.FreeSubnet(t).Addr().Next(), 24)
	wantAddr := gw.String()

	l, err := Ensure(name, gw)
	if err != nil {
		t.Fatal(err)
	}
	if l.Type() != "bridge" || l.Attrs().Flags&net.FlagUp == 0 {
		t.Fatalf("got %s, up=%v", l.Type(), l.Attrs().Flags&net.FlagUp != 0)
	}
	if got := v4Addrs(t, l); len(got) != 1 || got[0] != wantAddr {
		t.Fatalf("addresses = %v, want [%s]", got, wantAddr)
	}
	if got, want := l.Attrs().HardwareAddr.String(), MAC(gw.Addr()).String(); got != want {
		t.Fatalf("MAC = %s, want %s", got, want)
	}

	// Break it: down, a stray address. Ensure puts it right.
	if err := netlink.LinkSetDown(l); err != nil {
		t.Fatal(err)
	}
	stray := &netlink.Addr{IPNet: ifaddr.IPNet(netip.MustParsePrefix("10.244.199.1/24"))}
	if err := netlink.AddrAdd(l, stray); err != nil {
		t.Fatal(err)
	}
	l, err = Ensure(name, gw)
	if err != nil {
		t.Fatal(err)
	}
	if l.Attrs().Flags&net.FlagUp == 0 {
		t.Fatal("bridge left down")
	}
	if got := v4Addrs(t, l); len(got) != 1 || got[0] != wantAddr {
		t.Fatalf("addresses after repair = %v, want [%s]", got, wantAddr)
	}

	if err := Delete(name); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(name); err == nil {
		t.Fatal("bridge still there after Delete")
	}
	if err := Delete(name); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func TestEnsureRefusesOtherLinkTypes(t *testing.T) {
	nettest.RequireRoot(t)
	name := testName(t)
	// A veth, because not every kernel has the dummy driver.
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "p"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(name, netip.MustParsePrefix("10.244.251.1/24")); !errors.Is(err, ErrNotBridge) {
		t.Fatalf("Ensure over a veth = %v, want ErrNotBridge", err)
	}
	if err := Delete(name); !errors.Is(err, ErrNotBridge) {
		t.Fatalf("Delete of a veth = %v, want ErrNotBridge", err)
	}
	if _, err := netlink.LinkByName(name); err != nil {
		t.Fatalf("the veth was touched: %v", err)
	}
}

func TestMAC(t *testing.T) {
	if got := MAC(netip.MustParseAddr("10.244.3.1")).String(); got != "0a:58:0a:f4:03:01" {
		t.Fatalf("MAC = %s", got)
	}
}
