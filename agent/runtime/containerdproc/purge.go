package containerdproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
)

// Purge deletes every task and container (with its snapshot) in every
// namespace of the daemon, so that no shim outlives it, then kills by PID any
// shim the API could not remove. It is for tests and development; an agent
// never calls it, since surviving containers are what adoption relies on.
// Call it before Stop; after Stop only the PID fallback is left.
func (d *Daemon) Purge(ctx context.Context) error {
	var errs []error
	if d.running() {
		errs = append(errs, d.purgeAPI(ctx))
	}
	errs = append(errs, d.killShims(), d.unmountAll())
	return errors.Join(errs...)
}

func (d *Daemon) purgeAPI(ctx context.Context) error {
	c, err := client.New(d.paths.socket)
	if err != nil {
		return fmt.Errorf("purge containerd %s: %w", d.paths.socket, err)
	}
	defer c.Close()
	nss, err := c.NamespaceService().List(ctx)
	if err != nil {
		return fmt.Errorf("purge containerd %s: list namespaces: %w", d.paths.socket, err)
	}
	var errs []error
	for _, ns := range nss {
		errs = append(errs, PurgeNamespace(namespaces.WithNamespace(ctx, ns), c))
	}
	return errors.Join(errs...)
}

// PurgeNamespace kills and deletes every task and container, with its
// snapshot, in the namespace of ctx.
func PurgeNamespace(ctx context.Context, c *client.Client) error {
	ns, _ := namespaces.Namespace(ctx)
	ctrs, err := c.Containers(ctx)
	if err != nil {
		return fmt.Errorf("purge namespace %s: list containers: %w", ns, err)
	}
	var errs []error
	for _, ctr := range ctrs {
		if task, err := ctr.Task(ctx, nil); err == nil {
			if _, err := task.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("purge namespace %s: delete task %s: %w", ns, ctr.ID(), err))
			}
		} else if !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("purge namespace %s: load task %s: %w", ns, ctr.ID(), err))
		}
		if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("purge namespace %s: delete container %s: %w", ns, ctr.ID(), err))
		}
	}
	return errors.Join(errs...)
}

// killShims is the fallback for tasks the API could not delete, e.g. after
// the daemon was stopped. Shims are found in /proc by the daemon address on
// their command line; the task's init is killed first, from init.pid in its
// bundle, while the shim (its parent) still runs, which keeps that PID from
// having been reused.
func (d *Daemon) killShims() error {
	shims, err := d.findShims()
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range shims {
		bundle := filepath.Join(d.paths.state, "io.containerd.runtime.v2.task", s.namespace, s.id)
		if pid, ok := readPID(filepath.Join(bundle, "init.pid")); ok {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("kill init %d of container %s/%s: %w", pid, s.namespace, s.id, err))
			}
		}
		d.logger.Warn("killing leftover containerd shim", "pid", s.pid, "namespace", s.namespace, "id", s.id)
		if err := syscall.Kill(s.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill shim %d of container %s/%s: %w", s.pid, s.namespace, s.id, err))
		}
		// A killed shim leaves its socket, which lives outside dir.
		if addr, err := os.ReadFile(filepath.Join(bundle, "address")); err == nil {
			sock := strings.TrimPrefix(strings.TrimSpace(string(addr)), "unix://")
			if strings.HasPrefix(sock, "/run/containerd/s/") {
				os.Remove(sock)
			}
		}
	}
	return errors.Join(errs...)
}

type shimProc struct {
	pid           int
	namespace, id string
}

// findShims lists the running shims started by this daemon.
func (d *Daemon) findShims() ([]shimProc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("find shims: %w", err)
	}
	var out []shimProc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		if s, ok := parseShimCmdline(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), d.paths.socket); ok {
			s.pid = pid
			out = append(out, s)
		}
	}
	return out, nil
}

// parseShimCmdline recognises "containerd-shim-runc-v2 -namespace NS -id ID
// -address SOCKET" for our socket.
func parseShimCmdline(args []string, socket string) (shimProc, bool) {
	if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
		return shimProc{}, false
	}
	var s shimProc
	ours := false
	for i := 1; i+1 < len(args); i++ {
		switch args[i] {
		case "-namespace":
			s.namespace = args[i+1]
		case "-id":
			s.id = args[i+1]
		case "-address":
			ours = args[i+1] == socket
		}
	}
	return s, ours && s.namespace != "" && s.id != ""
}

func readPID(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, err == nil && pid > 0
}

// unmountAll detaches whatever is still mounted under the daemon's directory
// (the rootfs of a task whose shim was killed), deepest first, so that the
// directory can be removed.
func (d *Daemon) unmountAll() error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("read mountinfo: %w", err)
	}
	prefix := filepath.Clean(d.paths.dir) + "/"
	var targets []string
	for line := range strings.Lines(string(b)) {
		// Field 5 is the mount point, with spaces and the like octal-escaped.
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], prefix) {
			targets = append(targets, f[4])
		}
	}
	slices.SortFunc(targets, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, t := range targets {
		d.logger.Warn("unmounting leftover mount", "target", t)
		if err := syscall.Unmount(t, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", t, err))
		}
	}
	return errors.Join(errs...)
}
