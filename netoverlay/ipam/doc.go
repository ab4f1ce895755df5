// Package ipam hands out the overlay addresses of one node: the addresses of a
// single IPv4 subnet (the node's /24 from the cluster CIDR), one per owner
// (a replica id).
//
// It owns only its state file (ipam.json under the directory it is given) and
// never touches the kernel: putting the address on an interface is the job of
// the parent package netoverlay.
//
// The network address, the broadcast address and the first host address (the
// bridge gateway, .1) are never handed out. The state survives restarts of the
// agent; reopening it with a different subnet (the master gave the node a new
// /24) drops every allocation, because none of them is routable any more.
package ipam
