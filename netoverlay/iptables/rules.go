package iptables

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// HostPort is one published port: traffic to the node's address on
// HostPort goes to IP:Port.
type HostPort struct {
	Protocol string // tcp or udp
	HostPort int
	IP       netip.Addr
	Port     int
}

// Rules is what the node's chains must hold.
type Rules struct {
	// ClusterCIDR is the whole overlay; forwarding to and from it is allowed
	// through the bridge and the VXLAN device only.
	ClusterCIDR netip.Prefix
	// Subnet is this node's part of it (for hairpin of host ports).
	Subnet netip.Prefix
	// Masquerade rewrites the source of traffic from the cluster CIDR to
	// destinations outside it to the node's own address.
	Masquerade bool
	HostPorts  []HostPort
	// HostPortAddr, when set, is the one destination host ports are
	// published on (the node's advertised address); when not, every local
	// address of the node.
	HostPortAddr netip.Addr
	// VXLANPort, when set, is the overlay's UDP port: only Peers (the
	// underlay addresses of the other nodes) may send to it, and traffic
	// between the VXLAN device and the bridge is forwarded.
	VXLANPort int
	Peers     []netip.Addr
}

// Chains are the names of one node's chains and of the interfaces its
// forward rules are scoped to.
type Chains struct {
	Bridge, VXLANDevice                   string
	Forward, Masquerade, HostPorts, VXLAN string
}

// ChainsFor names the chains of the network whose bridge is bridge and
// whose VXLAN device is vxlanDev.
func ChainsFor(bridge, vxlanDev string) Chains {
	return Chains{
		Bridge: bridge, VXLANDevice: vxlanDev,
		Forward: "ORCH-FWD-" + bridge, Masquerade: "ORCH-MASQ-" + bridge, HostPorts: "ORCH-HP-" + bridge,
		VXLAN: "ORCH-VXLAN-" + vxlanDev,
	}
}

// ours lists the chains with their tables.
func (c Chains) ours() []struct{ table, chain string } {
	return []struct{ table, chain string }{
		{"filter", c.Forward}, {"filter", c.VXLAN}, {"nat", c.Masquerade}, {"nat", c.HostPorts},
	}
}

func (c Chains) owns(chain string) bool {
	return chain == c.Forward || chain == c.Masquerade || chain == c.HostPorts || chain == c.VXLAN
}

// jump is one rule in a built-in chain that sends traffic to ours.
type jump struct {
	table, chain string
	args         []string
}

// jumps are the jumps r needs: the VXLAN one only with an overlay.
func (c Chains) jumps(r Rules) []jump {
	js := []jump{
		{"filter", "FORWARD", []string{"-j", c.Forward}},
		{"nat", "POSTROUTING", []string{"-j", c.Masquerade}},
		{"nat", "PREROUTING", []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", c.HostPorts}},
		// Not loopback: DNAT of 127.0.0.1 would need route_localnet.
		{"nat", "OUTPUT", []string{"!", "-d", "127.0.0.0/8", "-m", "addrtype", "--dst-type", "LOCAL", "-j", c.HostPorts}},
	}
	if r.VXLANPort > 0 {
		port := strconv.Itoa(r.VXLANPort)
		js = append(js, jump{"filter", "INPUT", []string{"-p", "udp", "-m", "udp", "--dport", port, "-j", c.VXLAN}})
	}
	return js
}

// Render returns the iptables-restore input that makes the chains hold
// exactly r: each chain is declared (which empties it) and refilled. Rules
// are written the way iptables-save prints them (addresses before
// interfaces, then matches), so Sync can compare the two as text.
func Render(c Chains, r Rules) []byte {
	var b bytes.Buffer
	b.WriteString("*filter\n")
	fmt.Fprintf(&b, ":%s - [0:0]\n", c.Forward)
	fmt.Fprintf(&b, ":%s - [0:0]\n", c.VXLAN)
	renderForward(&b, c, r)
	renderVXLAN(&b, c, r)
	b.WriteString("COMMIT\n*nat\n")
	fmt.Fprintf(&b, ":%s - [0:0]\n", c.Masquerade)
	fmt.Fprintf(&b, ":%s - [0:0]\n", c.HostPorts)
	renderMasquerade(&b, c, r)
	renderHostPorts(&b, c, r)
	b.WriteString("COMMIT\n")
	return b.Bytes()
}

// renderForward lets through what the overlay needs and nothing else: the
// replicas' own traffic leaving the bridge, peers' replicas reaching ours
// through the VXLAN device, and answers (and host-port DNAT) back to the
// bridge. A host on the underlay routing to a replica's address directly is
// left to the host's firewall.
func renderForward(b *bytes.Buffer, c Chains, r Rules) {
	cluster := r.ClusterCIDR.Masked().String()
	fmt.Fprintf(b, "-A %s -s %s -i %s -j ACCEPT\n", c.Forward, cluster, c.Bridge)
	if r.VXLANPort > 0 {
		fmt.Fprintf(b, "-A %s -s %s -d %s -i %s -o %s -j ACCEPT\n", c.Forward, cluster, cluster, c.VXLANDevice, c.Bridge)
	}
	fmt.Fprintf(b, "-A %s -d %s -o %s -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT\n", c.Forward, cluster, c.Bridge)
}

// renderVXLAN accepts the overlay's UDP port from the peers' underlay
// addresses and drops it from anyone else: a VXLAN packet is a frame put
// straight on the bridge, past every other check.
func renderVXLAN(b *bytes.Buffer, c Chains, r Rules) {
	if r.VXLANPort <= 0 {
		return
	}
	peers := slices.Clone(r.Peers)
	slices.SortFunc(peers, netip.Addr.Compare)
	for _, p := range slices.Compact(peers) {
		fmt.Fprintf(b, "-A %s -s %s -j ACCEPT\n", c.VXLAN, netip.PrefixFrom(p, p.BitLen()))
	}
	fmt.Fprintf(b, "-A %s -j DROP\n", c.VXLAN)
}

func renderMasquerade(b *bytes.Buffer, c Chains, r Rules) {
	cluster := r.ClusterCIDR.Masked().String()
	if r.Subnet.IsValid() {
		// A replica reaching a host port that lands on a replica of the same
		// bridge: without rewriting the source, the answer would go back
		// directly, bypassing the DNAT.
		sub := r.Subnet.Masked().String()
		fmt.Fprintf(b, "-A %s -s %s -d %s -m conntrack --ctstate DNAT -j MASQUERADE\n", c.Masquerade, sub, sub)
	}
	if r.Masquerade {
		fmt.Fprintf(b, "-A %s -s %s -d %s -j RETURN\n", c.Masquerade, cluster, cluster)
		fmt.Fprintf(b, "-A %s -s %s -d 224.0.0.0/4 -j RETURN\n", c.Masquerade, cluster)
		fmt.Fprintf(b, "-A %s -s %s -j MASQUERADE\n", c.Masquerade, cluster)
	}
}

func renderHostPorts(b *bytes.Buffer, c Chains, r Rules) {
	hps := slices.Clone(r.HostPorts)
	slices.SortFunc(hps, func(a, b HostPort) int {
		if a.Protocol != b.Protocol {
			return strings.Compare(a.Protocol, b.Protocol)
		}
		return a.HostPort - b.HostPort
	})
	dst := ""
	if r.HostPortAddr.IsValid() {
		dst = "-d " + netip.PrefixFrom(r.HostPortAddr, r.HostPortAddr.BitLen()).String() + " "
	}
	for _, hp := range hps {
		proto := strings.ToLower(hp.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		fmt.Fprintf(b, "-A %s %s-p %s -m %s --dport %d -j DNAT --to-destination %s\n",
			c.HostPorts, dst, proto, proto, hp.HostPort, netip.AddrPortFrom(hp.IP, uint16(hp.Port)))
	}
}
