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

// killShims is the fallback for tasks the API could not delete: the runc v2
// shim keeps shim.pid and init.pid in each task bundle under the state dir.
// The container's init is killed only while its shim still runs, which is
// what makes the recorded init PID trustworthy (no PID reuse while the shim,
// its parent, is alive).
func (d *Daemon) killShims() error {
	bundles, err := filepath.Glob(filepath.Join(d.paths.state, "io.containerd.runtime.v2.task", "*", "*"))
	if err != nil {
		return fmt.Errorf("find task bundles: %w", err)
	}
	var errs []error
	for _, b := range bundles {
		shim, ok := readPID(filepath.Join(b, "shim.pid"))
		if !ok || !isShim(shim) {
			continue
		}
		if pid, ok := readPID(filepath.Join(b, "init.pid")); ok {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("kill container init %d of %s: %w", pid, b, err))
			}
		}
		d.logger.Warn("killing leftover containerd shim", "pid", shim, "bundle", b)
		if err := syscall.Kill(shim, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill shim %d of %s: %w", shim, b, err))
		}
		// A killed shim leaves its socket, which lives outside dir.
		if addr, err := os.ReadFile(filepath.Join(b, "address")); err == nil {
			sock := strings.TrimPrefix(strings.TrimSpace(string(addr)), "unix://")
			if strings.HasPrefix(sock, "/run/containerd/s/") {
				os.Remove(sock)
			}
		}
	}
	return errors.Join(errs...)
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

func readPID(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, err == nil && pid > 0
}

// isShim checks the PID still names a containerd shim, not a reused PID.
func isShim(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(b), "containerd-shim")
}
