// Package vxlan connects a node's overlay subnet to the other nodes' subnets
// the way flannel's VXLAN backend does: one VXLAN device per node, and for
// every peer node a route to its subnet through the device, an ARP entry for
// the peer's device address and an FDB entry sending that MAC to the peer's
// underlay address. Nothing is learnt or flooded; every entry is static and
// derived from the peer list, so a node needs only (subnet, underlay address)
// of its peers.
//
// It owns the device it is named and the routes, ARP and FDB entries on it,
// in the network namespace of the netlink handle it is given. It touches no
// other link, route or rule, no sysctl and no iptables.
package vxlan

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/orch-io/orch/netoverlay/internal/ifaddr"
)

// Defaults for the zero values of Config.
const (
	DefaultName = "orchvx0"
	DefaultVNI  = 4244
	// DefaultPort is the IANA VXLAN port.
	DefaultPort = 4789
	// Overhead is what VXLAN over IPv4 adds to every frame: outer IPv4 (20),
	// UDP (8), VXLAN (8) and inner Ethernet (14) headers.
	Overhead = 50
)

// ErrNotVXLAN means a link with the device's name exists and is something
// else; Ensure refuses to delete what it did not make.
var ErrNotVXLAN = errors.New("vxlan: link exists and is not a vxlan device")

// Config describes the node's VXLAN device.
type Config struct {
	Name string // default DefaultName; at most 15 bytes
	VNI  int    // default DefaultVNI
	Port int    // UDP port, default DefaultPort
	// Local is the node's underlay address: the tunnel's source.
	Local netip.Addr
	// Subnet is the node's overlay subnet; the device gets its network
	// address (10.244.3.0/32) and a MAC derived from it.
	Subnet netip.Prefix
	// MTU of the device; 0 leaves the kernel's choice (underlay MTU - 50).
	MTU int
}

func (c *Config) defaults() {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.VNI == 0 {
		c.VNI = DefaultVNI
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
}

// MAC is the VTEP MAC of the node owning subnet: 0e:58 and the subnet's
// network address. Every node derives every peer's MAC from the peer's
// subnet, so MACs never have to be exchanged.
func MAC(subnet netip.Prefix) net.HardwareAddr {
	ip := subnet.Masked().Addr().As4()
	return net.HardwareAddr{0x0e, 0x58, ip[0], ip[1], ip[2], ip[3]}
}

// Ensure makes the device exist with cfg's VNI, port and source address,
// static (no learning), with the subnet's network address and its MAC, and
// up. A device made with other parameters is replaced.
func Ensure(nh *netlink.Handle, cfg Config) (netlink.Link, error) {
	cfg.defaults()
	if !cfg.Local.Is4() || !cfg.Subnet.Addr().Is4() {
		return nil, fmt.Errorf("vxlan %s: local %s and subnet %s must be IPv4", cfg.Name, cfg.Local, cfg.Subnet)
	}
	mac := MAC(cfg.Subnet)
	link, err := nh.LinkByName(cfg.Name)
	switch {
	case err == nil:
		vx, ok := link.(*netlink.Vxlan)
		if !ok {
			return nil, fmt.Errorf("%w: %s is a %s", ErrNotVXLAN, cfg.Name, link.Type())
		}
		if !matches(vx, cfg) {
			if err := nh.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
				return nil, fmt.Errorf("vxlan %s: delete outdated device: %w", cfg.Name, err)
			}
			link = nil
		}
	case isNotFound(err):
		link = nil
	default:
		return nil, fmt.Errorf("vxlan %s: look up: %w", cfg.Name, err)
	}
	if link == nil {
		vx := &netlink.Vxlan{
			LinkAttrs: netlink.LinkAttrs{Name: cfg.Name, MTU: cfg.MTU, HardwareAddr: mac},
			VxlanId:   cfg.VNI,
			SrcAddr:   net.IP(cfg.Local.AsSlice()),
			Port:      cfg.Port,
			Learning:  false,
		}
		if err := nh.LinkAdd(vx); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("vxlan %s: create: %w", cfg.Name, err)
		}
		if link, err = nh.LinkByName(cfg.Name); err != nil {
			return nil, fmt.Errorf("vxlan %s: look up after create: %w", cfg.Name, err)
		}
	}
	// The link read above is returned as it is unless it changes here: on
	// the 2 s sync a healthy link costs no second look-up.
	changed := false
	if link.Attrs().HardwareAddr.String() != mac.String() {
		changed = true
		if err := nh.LinkSetHardwareAddr(link, mac); err != nil {
			return nil, fmt.Errorf("vxlan %s: set MAC %s: %w", cfg.Name, mac, err)
		}
	}
	if cfg.MTU > 0 && link.Attrs().MTU != cfg.MTU {
		changed = true
		if err := nh.LinkSetMTU(link, cfg.MTU); err != nil {
			return nil, fmt.Errorf("vxlan %s: set MTU %d: %w", cfg.Name, cfg.MTU, err)
		}
	}
	if err := ifaddr.EnsureOnly(nh, link, netip.PrefixFrom(cfg.Subnet.Masked().Addr(), 32)); err != nil {
		return nil, fmt.Errorf("vxlan %s: %w", cfg.Name, err)
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		changed = true
		if err := nh.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("vxlan %s: set up: %w", cfg.Name, err)
		}
	}
	if changed {
		if link, err = nh.LinkByName(cfg.Name); err != nil {
			return nil, fmt.Errorf("vxlan %s: look up: %w", cfg.Name, err)
		}
	}
	return link, nil
}

// Delete removes the device, and with it every route, ARP and FDB entry on
// it. A missing device is not an error; a link of another type is left.
func Delete(nh *netlink.Handle, name string) error {
	if name == "" {
		name = DefaultName
	}
	link, err := nh.LinkByName(name)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("vxlan %s: look up: %w", name, err)
	}
	if _, ok := link.(*netlink.Vxlan); !ok {
		return fmt.Errorf("%w: %s is a %s", ErrNotVXLAN, name, link.Type())
	}
	if err := nh.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("vxlan %s: delete: %w", name, err)
	}
	return nil
}

func matches(vx *netlink.Vxlan, cfg Config) bool {
	local, _ := netip.AddrFromSlice(vx.SrcAddr)
	return vx.VxlanId == cfg.VNI && vx.Port == cfg.Port && local.Unmap() == cfg.Local && !vx.Learning
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}
