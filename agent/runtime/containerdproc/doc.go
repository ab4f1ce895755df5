// Package containerdproc runs a private containerd daemon as a child process:
// its own config, root, state and socket under one directory, started and
// stopped by PID. Tests and `orchd dev` use it so that they never depend on,
// or disturb, a system containerd.
//
// It owns only the daemon process and the files under the directory it is
// given. It does not own containers: containerd's shims outlive the daemon by
// design (that is what lets containers survive an agent restart), so Stop
// leaves them running; Purge removes them for callers, such as tests, that
// must leave nothing behind.
//
// Two things stay shared with every other containerd on the machine: shim
// sockets live in /run/containerd/s (named by a hash that includes the
// daemon's address, so they never collide), and runc keeps container state
// in /run/containerd/runc unless the runtime's containers name their own
// root (Daemon.RuncRoot, for runtime.WithRuncRoot).
package containerdproc
