// Package bridge creates and repairs the node's overlay bridge (orch0 by
// default): a Linux bridge holding the gateway address of the node's subnet,
// to which every replica's veth is attached.
//
// It touches only the bridge it is named, in the current network namespace:
// not the veths attached to it, not routes beyond the one the kernel derives
// from the gateway address, not sysctls, not iptables.
package bridge

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/orch-io/orch/netoverlay/internal/ifaddr"
)

// DefaultName is the bridge every node uses unless configured otherwise.
const DefaultName = "orch0"

// ErrNotBridge means a link with the bridge's name exists but is something
// else; Ensure refuses to delete what it did not make.
var ErrNotBridge = errors.New("bridge: link exists and is not a bridge")

// Ensure makes the bridge name exist, be up, carry exactly gateway as its
// IPv4 address and a fixed MAC address, creating or repairing whatever is
// missing. It returns the bridge's current state.
func Ensure(name string, gateway netip.Prefix) (netlink.Link, error) {
	if !gateway.IsValid() || !gateway.Addr().Is4() {
		return nil, fmt.Errorf("bridge %s: gateway %s is not an IPv4 prefix", name, gateway)
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return nil, fmt.Errorf("bridge %s: look up: %w", name, err)
		}
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("bridge %s: create: %w", name, err)
		}
		if link, err = netlink.LinkByName(name); err != nil {
			return nil, fmt.Errorf("bridge %s: look up after create: %w", name, err)
		}
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return nil, fmt.Errorf("%w: %s is a %s", ErrNotBridge, name, link.Type())
	}

	// A bridge takes the lowest MAC of its ports unless one is set
	// explicitly, so without this the gateway's MAC would change whenever a
	// replica comes or goes, and replicas would hold a stale ARP entry.
	mac := MAC(gateway.Addr())
	// The link read above is returned as it is unless it changes here: every
	// replica's Setup ensures the bridge, and a healthy one costs no second
	// look-up.
	changed := false
	if link.Attrs().HardwareAddr.String() != mac.String() {
		changed = true
		if err := netlink.LinkSetHardwareAddr(link, mac); err != nil {
			return nil, fmt.Errorf("bridge %s: set MAC %s: %w", name, mac, err)
		}
	}
	if err := ifaddr.EnsureOnly(&netlink.Handle{}, link, gateway); err != nil {
		return nil, fmt.Errorf("bridge %s: %w", name, err)
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		changed = true
		if err := netlink.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("bridge %s: set up: %w", name, err)
		}
	}
	if changed {
		if link, err = netlink.LinkByName(name); err != nil {
			return nil, fmt.Errorf("bridge %s: look up: %w", name, err)
		}
	}
	return link, nil
}

// Delete removes the bridge. Ports attached to it are released, not deleted.
// A missing bridge is not an error; a link of another type is left alone.
func Delete(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("bridge %s: look up: %w", name, err)
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return fmt.Errorf("%w: %s is a %s", ErrNotBridge, name, link.Type())
	}
	if err := netlink.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("bridge %s: delete: %w", name, err)
	}
	return nil
}

// MAC returns the locally administered MAC the bridge of a gateway gets:
// 0a:58 followed by the IPv4 address (the scheme of the CNI bridge plugin),
// so it is stable and unique within the cluster.
func MAC(gateway netip.Addr) net.HardwareAddr {
	ip := gateway.As4()
	return net.HardwareAddr{0x0a, 0x58, ip[0], ip[1], ip[2], ip[3]}
}
