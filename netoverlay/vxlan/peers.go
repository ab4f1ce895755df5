package vxlan

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/orch-io/orch/netoverlay/internal/ifaddr"
)

// Peer is another node as the overlay needs it.
type Peer struct {
	// Name is for messages only.
	Name string
	// Subnet is the peer's overlay subnet.
	Subnet netip.Prefix
	// Underlay is the peer's address on the underlay: its VXLAN endpoint.
	Underlay netip.Addr
}

// Changes counts what a Sync did, for logs and tests.
type Changes struct {
	Added, Removed int
}

// Sync makes the routes, ARP and FDB entries on link be exactly those of
// peers: missing or wrong ones are (re)installed, ones of peers no longer
// listed are removed. Peers that cannot be routed (invalid, overlapping the
// local subnet or an earlier peer) are skipped and returned in the error,
// after every valid peer has been installed.
func Sync(nh *netlink.Handle, link netlink.Link, local netip.Prefix, peers []Peer) (Changes, error) {
	want, problems := routable(local, peers)
	s := &syncer{nh: nh, link: link, idx: link.Attrs().Index, want: want, problems: problems}
	// FDB and ARP first, so the route never points at a next hop the device
	// cannot reach yet.
	for _, step := range []func() error{s.syncFDB, s.syncARP, s.syncRoutes} {
		if err := step(); err != nil {
			return s.ch, err
		}
	}
	if err := errors.Join(s.problems...); err != nil {
		return s.ch, fmt.Errorf("vxlan %s: %w", link.Attrs().Name, err)
	}
	return s.ch, nil
}

// routable keeps the peers that can be routed, by subnet, and says why
// each of the others cannot.
func routable(local netip.Prefix, peers []Peer) (map[netip.Prefix]Peer, []error) {
	var problems []error
	want := map[netip.Prefix]Peer{}
	for _, p := range peers {
		p.Subnet = p.Subnet.Masked()
		switch {
		case !p.Subnet.IsValid() || !p.Subnet.Addr().Is4() || !p.Underlay.Is4():
			problems = append(problems, fmt.Errorf("peer %s: subnet %s, underlay %s: not IPv4", p.Name, p.Subnet, p.Underlay))
			continue
		case p.Subnet.Overlaps(local):
			problems = append(problems, fmt.Errorf("peer %s: subnet %s overlaps the local subnet %s", p.Name, p.Subnet, local))
			continue
		}
		clash := false
		for s, other := range want {
			if s.Overlaps(p.Subnet) {
				problems = append(problems, fmt.Errorf("peer %s: subnet %s overlaps peer %s (%s)", p.Name, p.Subnet, other.Name, s))
				clash = true
			}
		}
		if !clash {
			want[p.Subnet] = p
		}
	}
	return want, problems
}

// syncer is one Sync in progress: the routable peers it installs and what
// it has done and failed to do so far. Its steps return an error only
// when they cannot read the link's entries; a failed change of one entry
// is a problem and the step goes on.
type syncer struct {
	nh       *netlink.Handle
	link     netlink.Link
	idx      int
	want     map[netip.Prefix]Peer
	ch       Changes
	problems []error
}

// syncFDB points each peer's MAC at its underlay address.
func (s *syncer) syncFDB() error {
	nh, idx := s.nh, s.idx
	fdb, err := nh.NeighList(idx, unix.AF_BRIDGE)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return fmt.Errorf("vxlan %s: list FDB: %w", s.link.Attrs().Name, err)
	}
	wantFDB := map[string]netip.Addr{}
	for _, p := range s.want {
		wantFDB[MAC(p.Subnet).String()] = p.Underlay
	}
	for _, e := range fdb {
		dst, _ := netip.AddrFromSlice(e.IP)
		if u, ok := wantFDB[e.HardwareAddr.String()]; ok && u == dst.Unmap() {
			delete(wantFDB, e.HardwareAddr.String())
			continue
		}
		if e.State&netlink.NUD_PERMANENT == 0 {
			continue
		}
		if err := nh.NeighDel(&e); err != nil && !errors.Is(err, unix.ENOENT) {
			s.problems = append(s.problems, fmt.Errorf("remove FDB %s: %w", e.HardwareAddr, err))
			continue
		}
		s.ch.Removed++
	}
	for _, mac := range slices.Sorted(maps.Keys(wantFDB)) {
		hw, _ := net.ParseMAC(mac)
		e := &netlink.Neigh{
			LinkIndex:    idx,
			Family:       unix.AF_BRIDGE,
			State:        netlink.NUD_PERMANENT,
			Flags:        netlink.NTF_SELF,
			IP:           net.IP(wantFDB[mac].AsSlice()),
			HardwareAddr: hw,
		}
		// Append, not set: the kernel keys VXLAN FDB entries by MAC and
		// destination, so a replace would keep an old destination too.
		if err := nh.NeighAppend(e); err != nil && !errors.Is(err, unix.EEXIST) {
			s.problems = append(s.problems, fmt.Errorf("add FDB %s -> %s: %w", mac, wantFDB[mac], err))
			continue
		}
		s.ch.Added++
	}
	return nil
}

// syncARP resolves the next hop of each peer's route (the base address of
// its subnet) to the peer's MAC.
func (s *syncer) syncARP() error {
	nh, idx := s.nh, s.idx
	arp, err := nh.NeighList(idx, netlink.FAMILY_V4)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return fmt.Errorf("vxlan %s: list ARP: %w", s.link.Attrs().Name, err)
	}
	wantARP := map[netip.Addr]net.HardwareAddr{}
	for _, p := range s.want {
		wantARP[p.Subnet.Addr()] = MAC(p.Subnet)
	}
	for _, e := range arp {
		ip, _ := netip.AddrFromSlice(e.IP)
		ip = ip.Unmap()
		if mac, ok := wantARP[ip]; ok && e.HardwareAddr.String() == mac.String() && e.State&netlink.NUD_PERMANENT != 0 {
			delete(wantARP, ip)
			continue
		}
		if _, ok := wantARP[ip]; ok {
			continue // wrong: replaced below
		}
		if err := nh.NeighDel(&e); err != nil && !errors.Is(err, unix.ENOENT) {
			s.problems = append(s.problems, fmt.Errorf("remove ARP %s: %w", ip, err))
			continue
		}
		s.ch.Removed++
	}
	for ip, mac := range wantARP {
		e := &netlink.Neigh{LinkIndex: idx, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT, IP: net.IP(ip.AsSlice()), HardwareAddr: mac}
		if err := nh.NeighSet(e); err != nil {
			s.problems = append(s.problems, fmt.Errorf("add ARP %s -> %s: %w", ip, mac, err))
			continue
		}
		s.ch.Added++
	}
	return nil
}

// syncRoutes routes each peer's subnet through the link, on-link via the
// subnet's base address.
func (s *syncer) syncRoutes() error {
	nh, idx := s.nh, s.idx
	routes, err := nh.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{LinkIndex: idx, Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return fmt.Errorf("vxlan %s: list routes: %w", s.link.Attrs().Name, err)
	}
	wantRoutes := routeSet(s.want)
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		dst := ifaddr.PrefixOf(r.Dst)
		gw, _ := netip.AddrFromSlice(r.Gw)
		if _, ok := wantRoutes[dst]; ok && gw.Unmap() == dst.Addr() && r.Flags&int(netlink.FLAG_ONLINK) != 0 {
			delete(wantRoutes, dst)
			continue
		}
		if _, ok := wantRoutes[dst]; ok {
			continue // wrong: replaced below
		}
		if err := nh.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			s.problems = append(s.problems, fmt.Errorf("remove route %s: %w", dst, err))
			continue
		}
		s.ch.Removed++
	}
	for dst := range wantRoutes {
		r := &netlink.Route{
			LinkIndex: idx,
			Dst:       ifaddr.IPNet(dst),
			Gw:        net.IP(dst.Addr().AsSlice()),
			Flags:     int(netlink.FLAG_ONLINK),
		}
		if err := nh.RouteReplace(r); err != nil {
			s.problems = append(s.problems, fmt.Errorf("add route %s via %s: %w", dst, s.want[dst].Name, err))
			continue
		}
		s.ch.Added++
	}
	return nil
}

func routeSet(want map[netip.Prefix]Peer) map[netip.Prefix]bool {
	out := make(map[netip.Prefix]bool, len(want))
	for p := range want {
		out[p] = true
	}
	return out
}
