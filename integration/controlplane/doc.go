// Package controlplane holds the control plane's acceptance tests and
// benchmarks (issue 3): three to four real orchd master processes on
// 127.0.0.1 ports, killed with SIGKILL, restarted, joined and removed,
// while clients write; histories are checked for linearizability with
// porcupine. They need no root and no containerd.
package controlplane
