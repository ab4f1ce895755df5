package netoverlay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/orch-io/orch/netoverlay/bridge"
	"github.com/orch-io/orch/netoverlay/internal/ifaddr"
	"github.com/orch-io/orch/netoverlay/namespace"
)

// Setup gives replicaID its network namespace, address and veth, creating
// what is missing and repairing what is wrong, and returns the same
// Attachment for the same replica every time. If it fails part-way, the
// pieces already made stay, so a retry or a Teardown finishes the job.
func (n *Network) Setup(ctx context.Context, replicaID string) (Attachment, error) {
	if replicaID == "" {
		return Attachment{}, errors.New("netoverlay: setup: empty replica id")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := checkCtx(ctx, "setup "+replicaID); err != nil {
		return Attachment{}, err
	}
	// The address first: it is the ledger Attached and Cleanup rely on.
	_, hadIP := n.ipam.Lookup(replicaID)
	ip, err := n.ipam.Allocate(replicaID)
	if err != nil {
		return Attachment{}, fmt.Errorf("netoverlay: setup %s: %w", replicaID, err)
	}
	if !hadIP {
		// A host port may be waiting for this address. A known one is in
		// the rules already, so a container restart costs no sync.
		n.kick()
	}
	br, err := bridge.Ensure(n.cfg.BridgeName, n.gateway)
	if err != nil {
		return Attachment{}, fmt.Errorf("netoverlay: setup %s: %w", replicaID, err)
	}
	nsPath, created, err := namespace.Ensure(n.cfg.NetNSDir, n.netnsName(replicaID))
	if err != nil {
		return Attachment{}, fmt.Errorf("netoverlay: setup %s: %w", replicaID, err)
	}
	if err := checkCtx(ctx, "setup "+replicaID); err != nil {
		return Attachment{}, err
	}
	if err := n.ensureVeth(br, nsPath, n.hostVethName(replicaID), ip); err != nil {
		return Attachment{}, fmt.Errorf("netoverlay: setup %s: %w", replicaID, err)
	}
	att := Attachment{NetNSPath: nsPath, IP: ip, Gateway: n.gateway.Addr()}
	if created {
		n.log.Info("netoverlay: replica attached", "replica", replicaID, "netns", nsPath, "ip", ip)
	}
	return att, nil
}

// Teardown removes replicaID's veth and namespace and releases its address.
// Tearing down a replica that has nothing left is not an error. A process
// still running in the namespace keeps it (without its veth) alive until it
// exits.
func (n *Network) Teardown(ctx context.Context, replicaID string) error {
	if err := checkCtx(ctx, "teardown "+replicaID); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.teardownLocked(replicaID)
}

func (n *Network) teardownLocked(replicaID string) error {
	// Deleting the host end deletes the pair; the namespace would do it too
	// when it dies, but a container process may keep it alive.
	if err := deleteLink(n.hostVethName(replicaID)); err != nil {
		return fmt.Errorf("netoverlay: teardown %s: %w", replicaID, err)
	}
	if err := namespace.Delete(n.NetNSPath(replicaID)); err != nil {
		return fmt.Errorf("netoverlay: teardown %s: %w", replicaID, err)
	}
	// Released last, so a failed teardown stays listed by Attached.
	if err := n.ipam.Release(replicaID); err != nil {
		return fmt.Errorf("netoverlay: teardown %s: %w", replicaID, err)
	}
	n.kick()
	n.log.Debug("netoverlay: replica detached", "replica", replicaID)
	return nil
}

// ensureVeth makes the veth pair hostName <-> eth0 (inside nsPath) exist with
// the right MAC, then configures both ends.
func (n *Network) ensureVeth(br netlink.Link, nsPath, hostName string, ip netip.Addr) error {
	fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns %s: open: %w", nsPath, err)
	}
	defer unix.Close(fd)
	nh, err := netlink.NewHandleAt(netns.NsHandle(fd), unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netns %s: netlink handle: %w", nsPath, err)
	}
	defer nh.Close()

	mac := bridge.MAC(ip)
	host, peer, err := n.findPair(nh, hostName)
	if err != nil {
		return err
	}
	if host == nil || peer == nil || peer.Attrs().HardwareAddr.String() != mac.String() {
		// Missing, half-gone or made for another address: start over. The
		// peer is looked up again in case only it survived.
		if err := deleteLink(hostName); err != nil {
			return err
		}
		if l, err := nh.LinkByName(replicaIf); err == nil {
			if err := nh.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
				return fmt.Errorf("netns %s: delete stale %s: %w", nsPath, replicaIf, err)
			}
		}
		veth := &netlink.Veth{
			LinkAttrs:        netlink.LinkAttrs{Name: hostName, MTU: n.cfg.MTU},
			PeerName:         replicaIf,
			PeerHardwareAddr: mac,
			PeerNamespace:    netlink.NsFd(fd),
		}
		if err := netlink.LinkAdd(veth); err != nil {
			return fmt.Errorf("veth %s: create: %w", hostName, err)
		}
		if host, peer, err = n.findPair(nh, hostName); err != nil {
			return err
		}
		if host == nil || peer == nil {
			return fmt.Errorf("veth %s: not found after create", hostName)
		}
	}

	if host.Attrs().MasterIndex != br.Attrs().Index {
		if err := netlink.LinkSetMasterByIndex(host, br.Attrs().Index); err != nil {
			return fmt.Errorf("veth %s: attach to %s: %w", hostName, br.Attrs().Name, err)
		}
	}
	if host.Attrs().Flags&net.FlagUp == 0 {
		if err := netlink.LinkSetUp(host); err != nil {
			return fmt.Errorf("veth %s: set up: %w", hostName, err)
		}
	}
	if err := configureReplicaSide(nh, peer, netip.PrefixFrom(ip, n.gateway.Bits()), n.gateway.Addr()); err != nil {
		return fmt.Errorf("netns %s: %w", nsPath, err)
	}
	return nil
}

// findPair returns the host end and the namespace end when they exist and
// are the two ends of one veth; otherwise it returns nil for the broken side.
func (n *Network) findPair(nh *netlink.Handle, hostName string) (host, peer netlink.Link, err error) {
	host, err = netlink.LinkByName(hostName)
	if err != nil {
		if !isNotFound(err) {
			return nil, nil, fmt.Errorf("veth %s: look up: %w", hostName, err)
		}
		host = nil
	}
	peer, err = nh.LinkByName(replicaIf)
	if err != nil {
		if !isNotFound(err) {
			return nil, nil, fmt.Errorf("%s: look up: %w", replicaIf, err)
		}
		peer = nil
	}
	if host != nil && host.Type() != "veth" {
		return nil, nil, fmt.Errorf("veth %s: name taken by a %s", hostName, host.Type())
	}
	if host == nil || peer == nil || peer.Type() != "veth" {
		return host, nil, nil
	}
	// For a veth, IFLA_LINK is the peer's index (in the peer's namespace).
	if host.Attrs().ParentIndex != peer.Attrs().Index || peer.Attrs().ParentIndex != host.Attrs().Index {
		return host, nil, nil
	}
	return host, peer, nil
}

// configureReplicaSide sets lo and eth0 up, addr as eth0's only IPv4 address
// and the default route via gw.
func configureReplicaSide(nh *netlink.Handle, eth0 netlink.Link, addr netip.Prefix, gw netip.Addr) error {
	lo, err := nh.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("lo: look up: %w", err)
	}
	if err := nh.LinkSetUp(lo); err != nil {
		return fmt.Errorf("lo: set up: %w", err)
	}
	if err := ifaddr.EnsureOnly(nh, eth0, addr); err != nil {
		return fmt.Errorf("%s: %w", replicaIf, err)
	}
	if eth0.Attrs().Flags&net.FlagUp == 0 {
		if err := nh.LinkSetUp(eth0); err != nil {
			return fmt.Errorf("%s: set up: %w", replicaIf, err)
		}
	}
	route := &netlink.Route{
		LinkIndex: eth0.Attrs().Index,
		Dst:       &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
		Gw:        net.IP(gw.AsSlice()),
	}
	if err := nh.RouteReplace(route); err != nil {
		return fmt.Errorf("default route via %s: %w", gw, err)
	}
	return nil
}

// deleteLink deletes the named link in the root namespace; a missing link is
// not an error.
func deleteLink(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("link %s: look up: %w", name, err)
	}
	if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("link %s: delete: %w", name, err)
	}
	return nil
}
