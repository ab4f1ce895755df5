package agent

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/orch-io/orch/netoverlay"
	orchpb "github.com/orch-io/orch/proto"
)

// startOverlay runs what a node with a full overlay adds to replica
// networking: the peer routes and iptables rules (Overlay.Run), the DNS
// server on the bridge gateway (answering the replicas of subnet only), and
// the endpoint stream feeding it. The goroutines end with ctx and are
// counted in a.wg.
func (a *Agent) startOverlay(ctx context.Context, nodeID string, subnet netip.Prefix) {
	if a.overlay == nil {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.overlay.Run(ctx); err != nil {
			a.log.Error("overlay stopped", "err", err)
		}
	}()
	if a.cfg.DNS.Disabled {
		return
	}
	gw := a.overlay.Gateway()
	a.dns = newNodeDNS(a.cfg.DNS, gw, subnet, a.dir, a.log)
	addr := net.JoinHostPort(gw.String(), strconv.Itoa(a.cfg.DNS.Port))
	a.wg.Add(2)
	go func() { defer a.wg.Done(); a.dns.serve(ctx, addr) }()
	go func() { defer a.wg.Done(); a.dns.follow(ctx, a.conn, nodeID) }()
}

// applyNetwork gives the overlay what an assignment set says about the
// network: the peer nodes and the host ports of this node's replicas.
func (a *Agent) applyNetwork(set *orchpb.AssignmentSet) {
	if a.overlay == nil {
		return
	}
	a.overlay.SetPeers(peersOf(set))
	a.overlay.SetHostPorts(hostPortsOf(set))
}

func peersOf(set *orchpb.AssignmentSet) []netoverlay.Peer {
	var peers []netoverlay.Peer
	for _, n := range set.GetPeers() {
		subnet, err1 := netip.ParsePrefix(n.GetSubnet())
		addr, err2 := netip.ParseAddr(n.GetAddress())
		if err1 != nil || err2 != nil || n.GetId() == set.GetNodeId() {
			continue
		}
		// A down node keeps its routes: it may only be cut off from the
		// masters, and its replicas are removed from DNS anyway.
		peers = append(peers, netoverlay.Peer{Name: n.GetName(), Subnet: subnet, Underlay: addr})
	}
	return peers
}

func hostPortsOf(set *orchpb.AssignmentSet) []netoverlay.HostPort {
	var out []netoverlay.HostPort
	for _, asg := range set.GetAssignments() {
		if asg.GetReplica().Desired() != orchpb.DesiredRunning {
			continue
		}
		for _, p := range asg.GetSpec().GetPorts() {
			if p.GetHostPort() <= 0 {
				continue
			}
			out = append(out, netoverlay.HostPort{
				ReplicaID: asg.GetReplica().GetId(),
				Protocol:  strings.ToLower(p.GetProtocol()),
				HostPort:  int(p.GetHostPort()),
				Port:      int(p.GetPort()),
			})
		}
	}
	return out
}

// makeNetwork builds the node's network: the overlay when one is
// configured, else the plain Network.
func (a *Agent) makeNetwork(subnet netip.Prefix, clusterCIDR string) error {
	if a.cfg.Overlay == nil {
		n, err := a.cfg.Network(subnet)
		if err != nil {
			return fmt.Errorf("agent: network for %s: %w", subnet, err)
		}
		a.net = n
		return nil
	}
	cidr, err := netip.ParsePrefix(clusterCIDR)
	if err != nil {
		return fmt.Errorf("agent: cluster CIDR %q: %w", clusterCIDR, err)
	}
	ov, err := a.cfg.Overlay(subnet, cidr)
	if err != nil {
		return fmt.Errorf("agent: overlay for %s: %w", subnet, err)
	}
	a.net, a.overlay = ov, ov
	return nil
}
