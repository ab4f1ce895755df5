// Package netoverlay gives each replica on a node its own network namespace
// with an address on the node's overlay subnet, reachable from the node and
// from the node's other replicas.
//
// Layout on a node (single-machine first cut):
//
//	root netns:  orch0 bridge, gateway 10.244.N.1/24 (fixed MAC 0a:58:<ip>)
//	               └─ ovXXXXXXXXXX (host end of one veth per replica)
//	replica netns (/var/run/netns/orch-XXXXXXXXXX):
//	               eth0 10.244.N.M/24 (MAC 0a:58:<ip>), lo up,
//	               default route via 10.244.N.1
//
// The package owns, in the root network namespace, the bridge it is
// configured with, the veths attached to it, the namespace files under the
// netns directory that start with its prefix, and its IPAM state file. It must
// not touch anything else: no sysctls (ip_forward is left as it is), no
// iptables rules, no routes out of the machine's real interfaces.
//
// Not done yet (a later issue): VXLAN to other nodes (routes, ARP and FDB
// entries per peer node, and an MTU of 1450 on the replica side), the per-node
// DNS server on the gateway address, masquerading of egress traffic and
// published host ports. Until then a replica reaches only its node and the
// replicas on the same node.
package netoverlay
