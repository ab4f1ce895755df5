package containerdproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// DefaultBinary is where Debian's containerd package installs the daemon; it
// is used when no containerd is found on PATH.
const DefaultBinary = "/usr/bin/containerd"

const (
	// startTimeout bounds the wait for the socket when ctx has no deadline.
	startTimeout = 30 * time.Second
	// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
	stopGrace = 10 * time.Second
)

// Daemon is one running private containerd. Its methods are safe for
// concurrent use; Stop may be called more than once.
type Daemon struct {
	paths  paths
	logger *slog.Logger
	cmd    *exec.Cmd
	logf   *os.File

	exited  chan struct{} // closed once the process has been reaped
	waitErr error         // the process's exit, valid after exited is closed

	stopOnce sync.Once
	stopErr  error
}

// Binary returns the containerd binary Start runs: the one on PATH, else
// DefaultBinary.
func Binary() string {
	if p, err := exec.LookPath("containerd"); err == nil {
		return p
	}
	return DefaultBinary
}

// Start writes dir/config.toml and runs containerd with it, its root, state
// and sockets all under dir, and returns once the daemon answers on its
// socket. ctx bounds only that wait (30s if ctx has no deadline); the daemon
// then runs until Stop. The daemon gets its own process group so that a
// Ctrl-C delivered to the caller's terminal reaches the caller first, which
// then stops the daemon in order; its output goes to dir/containerd.log.
//
// dir must be short (unix socket paths are limited to about 108 bytes):
// prefer os.MkdirTemp("/tmp", ...) to t.TempDir().
func Start(ctx context.Context, dir string, logger *slog.Logger) (*Daemon, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := newPaths(dir)
	if err := p.prepare(); err != nil {
		return nil, err
	}
	if Answers(ctx, p.socket) {
		return nil, fmt.Errorf("start containerd in %s: a containerd already answers on %s", dir, p.socket)
	}
	// A socket left by a killed daemon would make containerd fail to listen.
	if err := os.Remove(p.socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("start containerd in %s: remove stale socket: %w", dir, err)
	}

	logf, err := os.OpenFile(p.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start containerd in %s: open log: %w", dir, err)
	}
	bin := Binary()
	cmd := exec.Command(bin, "--config", p.config)
	cmd.Dir = dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start containerd %s in %s: %w", bin, dir, err)
	}
	d := &Daemon{paths: p, logger: logger, cmd: cmd, logf: logf, exited: make(chan struct{})}
	go func() {
		d.waitErr = cmd.Wait()
		close(d.exited)
	}()
	logger.Info("containerd starting", "pid", cmd.Process.Pid, "socket", p.socket, "binary", bin)

	if err := d.waitReady(ctx); err != nil {
		if stopErr := d.Stop(); stopErr != nil {
			logger.Warn("stop containerd after failed start", "pid", cmd.Process.Pid, "err", stopErr)
		}
		return nil, fmt.Errorf("start containerd in %s: %w\n%s", dir, err, d.logTail())
	}
	logger.Info("containerd ready", "pid", cmd.Process.Pid, "socket", p.socket)
	return d, nil
}

// waitReady polls the socket until containerd answers, it exits, or ctx ends.
func (d *Daemon) waitReady(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if Answers(ctx, d.paths.socket) {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("containerd exited before answering: %v", d.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("containerd did not answer on %s: %w", d.paths.socket, ctx.Err())
		case <-tick.C:
		}
	}
}

// logTail returns the end of the daemon's log, for error messages.
func (d *Daemon) logTail() string {
	b, err := os.ReadFile(d.paths.log)
	if err != nil {
		return ""
	}
	const max = 2048
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return "containerd log tail:\n" + string(b)
}

// running reports whether the daemon process has not exited yet.
func (d *Daemon) running() bool {
	select {
	case <-d.exited:
		return false
	default:
		return true
	}
}

// Socket is the daemon's gRPC address, for client.New.
func (d *Daemon) Socket() string { return d.paths.socket }

// Dir is the directory holding the daemon's config, root, state and log.
func (d *Daemon) Dir() string { return d.paths.dir }

// StateDir is the daemon's state directory (task bundles live below it).
func (d *Daemon) StateDir() string { return d.paths.state }

// RuncRoot is a runc state directory private to this daemon, for the
// runtime's WithRuncRoot: runc's default, /run/containerd/runc, is shared by
// every containerd on the machine.
func (d *Daemon) RuncRoot() string { return filepath.Join(d.paths.dir, "runc") }

// PID is the daemon's process id.
func (d *Daemon) PID() int { return d.cmd.Process.Pid }

// Stop sends SIGTERM to the daemon, SIGKILL if it has not exited after 10s,
// and returns once the process has been reaped. It does not touch shims or
// containers (see Purge). Calling Stop again returns the first result.
func (d *Daemon) Stop() error {
	d.stopOnce.Do(func() { d.stopErr = d.stop() })
	return d.stopErr
}

func (d *Daemon) stop() error {
	defer d.logf.Close()
	pid := d.cmd.Process.Pid
	select {
	case <-d.exited:
		d.logger.Warn("containerd had already exited", "pid", pid, "err", d.waitErr)
		return nil
	default:
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop containerd pid %d: SIGTERM: %w", pid, err)
	}
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-d.exited:
		d.logger.Info("containerd stopped", "pid", pid)
		return nil
	case <-timer.C:
	}
	d.logger.Warn("containerd ignored SIGTERM, killing", "pid", pid, "grace", stopGrace)
	if err := d.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop containerd pid %d: SIGKILL: %w", pid, err)
	}
	<-d.exited
	return nil
}
