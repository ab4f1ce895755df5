// Package harness builds multi-host orch clusters on one machine for the
// e2e suite (`make e2e`): every host is a network namespace with its own
// underlay address, the hosts are joined by a bridge that lives in a
// namespace of its own (never the machine's), and each host runs the real
// orchd binary (a master on the first, an agent on every one) under
// nsenter. One private containerd serves every agent, each in its own
// containerd namespace; runc keeps their state under the daemon's own root.
//
// The test process reaches the hosts only through sockets it opens inside
// their namespaces (Host.DialContext), so no route is ever added to the
// machine's own namespace and no traffic leaves through its interfaces.
//
// A Cluster removes everything it made when the test ends, failed or not:
// processes (by PID), containers, replica namespaces, host namespaces and
// with them every link, route and iptables rule inside. A run killed before
// its cleanup leaves a run directory with the PIDs it started; the next
// Cluster sweeps such leftovers (Sweep) before it starts.
package harness
