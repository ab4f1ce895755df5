package netoverlay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/orch-io/orch/netoverlay/iptables"
	"github.com/orch-io/orch/netoverlay/vxlan"
)

// DefaultSyncInterval is how often Run checks the peers' routes, ARP and
// FDB entries and the iptables rules for drift.
const DefaultSyncInterval = 2 * time.Second

// Peer is another node the overlay reaches: its subnet through its
// underlay address.
type Peer = vxlan.Peer

// HostPort publishes a replica's port on every local address of the node.
type HostPort struct {
	ReplicaID string
	Protocol  string // tcp (default) or udp
	HostPort  int
	Port      int
}

// ipForwardPath is the sysctl the overlay needs on: replicas' traffic to
// other nodes and to the outside is routed by the node. A variable so tests
// can point it elsewhere.
var ipForwardPath = "/proc/sys/net/ipv4/ip_forward"

// overlayEnabled reports whether this network reaches other nodes.
func (n *Network) overlayEnabled() bool { return n.cfg.Underlay.IsValid() }

// rulesEnabled reports whether this network keeps iptables rules.
func (n *Network) rulesEnabled() bool { return n.cfg.ClusterCIDR.IsValid() }

// initOverlay runs at New: it picks the MTU, makes the VXLAN device and
// turns on forwarding, so that replicas set up before the first Run sync
// already get the right MTU and a working route.
func (n *Network) initOverlay() error {
	if !n.overlayEnabled() && !(n.rulesEnabled() && n.cfg.Masquerade) {
		return nil // nothing to route: leave the machine's forwarding alone
	}
	if n.overlayEnabled() && n.cfg.MTU == 0 {
		mtu, err := linkMTUOf(n.cfg.Underlay)
		if err != nil {
			return err
		}
		n.cfg.MTU = mtu - vxlan.Overhead
	}
	if err := os.WriteFile(ipForwardPath, []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("enable ip forwarding: %w", err)
	}
	if n.overlayEnabled() {
		if _, err := vxlan.Ensure(n.nh, n.vxlanConfig()); err != nil {
			return err
		}
	}
	return nil
}

func (n *Network) vxlanConfig() vxlan.Config {
	c := n.cfg.VXLAN
	c.Local = n.cfg.Underlay
	c.Subnet = n.ipam.Subnet()
	c.MTU = n.cfg.MTU
	return c
}

// linkMTUOf returns the MTU of the link holding addr.
func linkMTUOf(addr netip.Addr) (int, error) {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return 0, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IPNet.IP); ok && ip.Unmap() == addr {
			l, err := netlink.LinkByIndex(a.LinkIndex)
			if err != nil {
				return 0, fmt.Errorf("link of %s: %w", addr, err)
			}
			return l.Attrs().MTU, nil
		}
	}
	return 0, fmt.Errorf("underlay address %s: no local interface holds it", addr)
}

// SetPeers replaces the nodes the overlay reaches; Run installs them.
func (n *Network) SetPeers(peers []Peer) {
	n.desiredMu.Lock()
	n.peers = slices.Clone(peers)
	n.desiredMu.Unlock()
	n.kick()
}

// SetHostPorts replaces the published ports; Run installs those whose
// replica has an address.
func (n *Network) SetHostPorts(ports []HostPort) {
	n.desiredMu.Lock()
	n.hostPorts = slices.Clone(ports)
	n.desiredMu.Unlock()
	n.kick()
}

func (n *Network) kick() {
	select {
	case n.kickCh <- struct{}{}:
	default:
	}
}

// Run keeps the VXLAN device, the peers' routes, ARP and FDB entries and the
// iptables rules as they should be, until ctx ends: at once after every
// change, and every SyncInterval to repair drift (a route deleted by hand
// comes back). It leaves everything installed when it returns.
func (n *Network) Run(ctx context.Context) error {
	interval := n.cfg.SyncInterval
	if interval <= 0 {
		interval = DefaultSyncInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var lastErr string
	for {
		err := n.Sync(ctx)
		switch {
		case err != nil && err.Error() != lastErr:
			n.log.Warn("netoverlay: sync", "err", err)
			lastErr = err.Error()
		case err == nil && lastErr != "":
			n.log.Info("netoverlay: sync recovered")
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-n.kickCh:
		}
	}
}

// Sync installs the desired peers and rules once.
func (n *Network) Sync(ctx context.Context) error {
	n.syncMu.Lock()
	defer n.syncMu.Unlock()
	n.desiredMu.Lock()
	peers := slices.Clone(n.peers)
	ports := slices.Clone(n.hostPorts)
	n.desiredMu.Unlock()
	var errs []error
	if n.overlayEnabled() {
		link, err := vxlan.Ensure(n.nh, n.vxlanConfig())
		if err != nil {
			errs = append(errs, err)
		} else {
			ch, err := vxlan.Sync(n.nh, link, n.ipam.Subnet(), peers)
			errs = append(errs, err)
			if ch != (vxlan.Changes{}) {
				n.log.Info("netoverlay: peers synced", "peers", len(peers), "added", ch.Added, "removed", ch.Removed)
			}
		}
	}
	if n.rulesEnabled() {
		rules := n.rules(peers, ports)
		changed, err := n.tables.Sync(ctx, rules)
		errs = append(errs, err)
		if changed {
			n.log.Info("netoverlay: iptables rules written", "host_ports", len(rules.HostPorts), "masquerade", rules.Masquerade, "vxlan_peers", len(rules.Peers))
		}
	}
	return errors.Join(errs...)
}

// rules are the iptables rules for the desired peers and host ports. With
// an overlay, the VXLAN port is open to the peers' underlay addresses only;
// host ports go to replicas that have an address.
func (n *Network) rules(peers []Peer, ports []HostPort) iptables.Rules {
	rules := iptables.Rules{
		ClusterCIDR: n.cfg.ClusterCIDR, Subnet: n.ipam.Subnet(), Masquerade: n.cfg.Masquerade,
		HostPortAddr: n.cfg.HostPortAddr,
	}
	if n.overlayEnabled() {
		rules.VXLANPort = cmp.Or(n.cfg.VXLAN.Port, vxlan.DefaultPort)
		for _, p := range peers {
			rules.Peers = append(rules.Peers, p.Underlay)
		}
	}
	for _, hp := range ports {
		ip, ok := n.ipam.Lookup(hp.ReplicaID)
		if !ok {
			continue
		}
		rules.HostPorts = append(rules.HostPorts, iptables.HostPort{Protocol: hp.Protocol, HostPort: hp.HostPort, IP: ip, Port: hp.Port})
	}
	return rules
}

// cleanupOverlay removes the VXLAN device (with every peer entry on it) and
// the iptables chains.
func (n *Network) cleanupOverlay() error {
	var errs []error
	errs = append(errs, vxlan.Delete(n.nh, n.cfg.VXLAN.Name))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs = append(errs, n.tables.Delete(ctx))
	return errors.Join(errs...)
}
