package harness

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/orch-io/orch/netoverlay/namespace"
)

// Underlay addressing: hosts get .1, .2, ...; the outside world (a DNS
// server with a test zone) is .250. It exists only inside the namespaces.
var (
	UnderlayPrefix = netip.MustParsePrefix("192.168.213.0/24")
	OutsideAddr    = netip.MustParseAddr("192.168.213.250")
)

const underlayBridge = "ul0"

// nsHandle opens a netlink handle inside the namespace at path.
func nsHandle(path string) (*netlink.Handle, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("netns %s: %w", path, err)
	}
	defer unix.Close(fd)
	nh, err := netlink.NewHandleAt(netns.NsHandle(fd), unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netns %s: netlink: %w", path, err)
	}
	return nh, nil
}

// makeUnderlay creates the namespace holding the underlay bridge.
func makeUnderlay(name string) (string, error) {
	path, _, err := namespace.Ensure(namespace.DefaultDir, name)
	if err != nil {
		return "", err
	}
	nh, err := nsHandle(path)
	if err != nil {
		return path, err
	}
	defer nh.Close()
	if err := setUp(nh, "lo"); err != nil {
		return path, err
	}
	if err := nh.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: underlayBridge}}); err != nil {
		return path, fmt.Errorf("underlay bridge: %w", err)
	}
	return path, setUp(nh, underlayBridge)
}

// plugIn makes the namespace nsName with eth0 at addr, its other end (port)
// on the underlay bridge.
func plugIn(underlayPath, nsName, port string, addr netip.Addr) (string, error) {
	path, _, err := namespace.Ensure(namespace.DefaultDir, nsName)
	if err != nil {
		return "", err
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return path, err
	}
	defer unix.Close(fd)
	ul, err := nsHandle(underlayPath)
	if err != nil {
		return path, err
	}
	defer ul.Close()
	if err := ul.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: port}, PeerName: "eth0", PeerNamespace: netlink.NsFd(fd)}); err != nil {
		return path, fmt.Errorf("veth %s: %w", port, err)
	}
	br, err := ul.LinkByName(underlayBridge)
	if err != nil {
		return path, err
	}
	p, err := ul.LinkByName(port)
	if err != nil {
		return path, err
	}
	if err := ul.LinkSetMaster(p, br); err != nil {
		return path, err
	}
	if err := ul.LinkSetUp(p); err != nil {
		return path, err
	}
	h, err := nsHandle(path)
	if err != nil {
		return path, err
	}
	defer h.Close()
	if err := setUp(h, "lo"); err != nil {
		return path, err
	}
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		return path, err
	}
	ipn := &net.IPNet{IP: net.IP(addr.AsSlice()), Mask: net.CIDRMask(UnderlayPrefix.Bits(), 32)}
	if err := h.AddrAdd(eth0, &netlink.Addr{IPNet: ipn}); err != nil {
		return path, err
	}
	return path, h.LinkSetUp(eth0)
}

// setPort sets the underlay port of a host up or down: the cable.
func setPort(underlayPath, port string, up bool) error {
	ul, err := nsHandle(underlayPath)
	if err != nil {
		return err
	}
	defer ul.Close()
	p, err := ul.LinkByName(port)
	if err != nil {
		return err
	}
	if up {
		return ul.LinkSetUp(p)
	}
	return ul.LinkSetDown(p)
}

func setUp(nh *netlink.Handle, name string) error {
	l, err := nh.LinkByName(name)
	if err != nil {
		return fmt.Errorf("link %s: %w", name, err)
	}
	return nh.LinkSetUp(l)
}

// dialIn opens a connection from inside the namespace at path. The socket
// is made on a thread in that namespace and stays there.
func dialIn(ctx context.Context, path, network, addr string) (net.Conn, error) {
	var conn net.Conn
	err := namespace.Do(path, func() error {
		var d net.Dialer
		var err error
		conn, err = d.DialContext(ctx, network, addr)
		return err
	})
	return conn, err
}

// listenIn opens a listener inside the namespace at path.
func listenIn(path, network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := namespace.Do(path, func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// listenPacketIn opens a packet socket inside the namespace at path.
func listenPacketIn(path, network, addr string) (net.PacketConn, error) {
	var pc net.PacketConn
	err := namespace.Do(path, func() error {
		var err error
		pc, err = net.ListenPacket(network, addr)
		return err
	})
	return pc, err
}

// runIn runs a command inside the network namespace at path.
func runIn(ctx context.Context, path string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + path, "--"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
