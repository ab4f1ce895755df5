// Package netoverlay gives each replica on a node its own network namespace
// with an address on the node's overlay subnet, reachable from every replica
// on every node (the flannel VXLAN scheme), and publishes host ports.
//
// Layout on a node:
//
//	root netns:  orch0 bridge, gateway 10.244.N.1/24 (fixed MAC 0a:58:<ip>)
//	               └─ ovXXXXXXXXXX (host end of one veth per replica)
//	             orchvx0 VXLAN device on the underlay address, 10.244.N.0/32,
//	               MAC 0e:58:<subnet>; per peer node P: route 10.244.P.0/24
//	               via 10.244.P.0 onlink, ARP 10.244.P.0 -> 0e:58:<P>,
//	               FDB 0e:58:<P> -> P's underlay address
//	             iptables chains ORCH-FWD-orch0 (filter: forwarding through
//	               orch0 and orchvx0 only), ORCH-VXLAN-orchvx0 (filter INPUT:
//	               the VXLAN port from peers' underlay addresses only),
//	               ORCH-MASQ-orch0 and ORCH-HP-orch0 (nat: host ports on the
//	               advertised address), one jump each from the built-ins
//	replica netns (/var/run/netns/orch-XXXXXXXXXX):
//	               eth0 10.244.N.M/24 (MAC 0a:58:<ip>, MTU underlay - 50),
//	               lo up, default route via 10.244.N.1
//
// Run keeps the VXLAN device, the peers' entries and the rules in step with
// SetPeers and SetHostPorts, and repairs drift every SyncInterval.
//
// The package owns, in the network namespace it runs in, the bridge and
// VXLAN device it is configured with, the veths attached to the bridge, the
// routes, ARP and FDB entries on the VXLAN device, its iptables chains and
// the jumps to them, the namespace files under the netns directory that
// start with its prefix, and its IPAM state file. The one sysctl it sets is
// net.ipv4.ip_forward=1, and only when it routes (an underlay is configured
// or masquerade is on). It never adds a route through any other interface:
// peer routes go only through its own VXLAN device.
//
// Subpackages: bridge, namespace, ipam, vxlan (device and peers), iptables
// (chains and rules), dns (the node's DNS server and the replicas'
// resolv.conf and hosts files).
package netoverlay
