package iptables

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/netoverlay/internal/nettest"
	"github.com/orch-io/orch/netoverlay/namespace"
)

// inNS runs a command in the network namespace at path, failing the test
// on error.
func inNS(t *testing.T, path string, argv ...string) {
	t.Helper()
	if out, err := exec.Command("nsenter", append([]string{"--net=" + path, "--"}, argv...)...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v %s", argv, err, out)
	}
}

// received sends one datagram to the node's VXLAN port from each source
// address and returns the sources whose datagram arrived.
func received(t *testing.T, node, other string, sources []netip.Addr) []netip.Addr {
	t.Helper()
	var pc net.PacketConn
	if err := namespace.Do(node, func() (err error) {
		pc, err = net.ListenPacket("udp4", "192.168.78.1:4789")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, src := range sources {
		if err := namespace.Do(other, func() error {
			c, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), &net.UDPAddr{IP: net.IPv4(192, 168, 78, 1), Port: 4789})
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write([]byte("frame"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	var got []netip.Addr
	buf := make([]byte, 64)
	for {
		_ = pc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, from, err := pc.ReadFrom(buf)
		if err != nil {
			break
		}
		got = append(got, from.(*net.UDPAddr).AddrPort().Addr().Unmap())
	}
	slices.SortFunc(got, netip.Addr.Compare)
	return got
}

// TestVXLANOnlyFromPeers sends datagrams to the VXLAN port of a namespace
// holding the rules, from a peer's address and from a stranger's on the
// same underlay: only the peer's arrive, and none once the peer has left.
func TestVXLANOnlyFromPeers(t *testing.T) {
	tables, node := inNamespace(t)
	other, _, err := namespace.Ensure(nettest.NetNSDir(t), "other")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t.Cleanup(func() { _ = tables.Delete(ctx) })
	peer, stranger := netip.MustParseAddr("192.168.78.2"), netip.MustParseAddr("192.168.78.3")
	inNS(t, node, "ip", "link", "add", "ul0", "type", "veth", "peer", "name", "ul0", "netns", other)
	inNS(t, node, "ip", "addr", "add", "192.168.78.1/24", "dev", "ul0")
	inNS(t, other, "ip", "addr", "add", peer.String()+"/24", "dev", "ul0")
	inNS(t, other, "ip", "addr", "add", stranger.String()+"/24", "dev", "ul0")
	for _, ns := range []string{node, other} {
		inNS(t, ns, "ip", "link", "set", "ul0", "up")
		inNS(t, ns, "ip", "link", "set", "lo", "up")
	}
	both := []netip.Addr{peer, stranger}
	if got := received(t, node, other, both); len(got) != 2 {
		t.Fatalf("before any rule, received from %v; want both", got)
	}

	rules := Rules{ClusterCIDR: cluster, Subnet: subnet, VXLANPort: 4789, Peers: []netip.Addr{peer}}
	if _, err := tables.Sync(ctx, rules); err != nil {
		t.Fatal(err)
	}
	if got := received(t, node, other, both); !slices.Equal(got, []netip.Addr{peer}) {
		t.Fatalf("with %v as the only peer, received from %v", peer, got)
	}

	rules.Peers = nil // the peer leaves the cluster
	if _, err := tables.Sync(ctx, rules); err != nil {
		t.Fatal(err)
	}
	if got := received(t, node, other, both); len(got) != 0 {
		t.Fatalf("with no peers, received from %v", got)
	}
	if s := save(t, node); strings.Contains(s, peer.String()) {
		t.Fatalf("the departed peer's accept is left:\n%s", s)
	}

	// Without an overlay the jump goes, and the port is the host's business.
	rules.VXLANPort = 0
	if _, err := tables.Sync(ctx, rules); err != nil {
		t.Fatal(err)
	}
	if s := save(t, node); strings.Contains(s, "-j ORCH-VXLAN-vx9") {
		t.Fatalf("VXLAN jump left without an overlay:\n%s", s)
	}
	if err := tables.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if left, err := tables.Present(ctx); err != nil || len(left) != 0 {
		t.Fatalf("after Delete: %v, %v", left, err)
	}
}
