// Package ifaddr keeps the IPv4 address of a link the overlay owns (the
// bridge, the VXLAN device, a replica's eth0) through a netlink handle, and
// converts between netip and the forms netlink takes.
package ifaddr

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// EnsureOnly leaves want (an address with its prefix length) as link's only
// IPv4 address: an address left from an earlier subnet or replica would
// answer for addresses this link no longer owns.
func EnsureOnly(nh *netlink.Handle, link netlink.Link, want netip.Prefix) error {
	addrs, err := nh.AddrList(link, netlink.FAMILY_V4)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return fmt.Errorf("list addresses: %w", err)
	}
	have := false
	for _, a := range addrs {
		if a.IPNet != nil && PrefixOf(a.IPNet) == want {
			have = true
			continue
		}
		if err := nh.AddrDel(link, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("remove stale address %s: %w", a.IPNet, err)
		}
	}
	if have {
		return nil
	}
	if err := nh.AddrReplace(link, &netlink.Addr{IPNet: IPNet(want)}); err != nil {
		return fmt.Errorf("add address %s: %w", want, err)
	}
	return nil
}

// IPNet converts an address with its length (10.244.3.1/24, not masked) to
// the form netlink takes.
func IPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// PrefixOf converts back, keeping the host bits; an IPv4 address in IPv6
// form comes back as IPv4.
func PrefixOf(n *net.IPNet) netip.Prefix {
	ip, _ := netip.AddrFromSlice(n.IP)
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(ip.Unmap(), ones)
}
