package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/orch-io/orch/agent/runtime/containerdproc"
	"github.com/orch-io/orch/netoverlay/namespace"
)

// runsDir holds one directory per run: logs, data dirs, PID files, and the
// PID of the test process that owns it.
const runsDir = "/tmp/orch-e2e"

// nsPrefix starts every network namespace a run makes: oe2e-RUN-...
const nsPrefix = "oe2e-"

// Sweep removes what runs whose test process died left behind: it kills the
// PIDs they recorded (only if the process still runs a command line naming
// that run's directory, so a reused PID is never hit), and deletes their
// network namespaces. Runs of live test processes are left alone.
func Sweep() error {
	entries, err := os.ReadDir(runsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		dir := filepath.Join(runsDir, e.Name())
		if ownerAlive(dir) {
			continue
		}
		errs = append(errs, removeRun(dir, e.Name()))
	}
	return errors.Join(errs...)
}

func ownerAlive(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return false
	}
	return syscall.Kill(pid, 0) == nil
}

// removeRun kills the run's recorded processes, deletes its namespaces and
// its directory.
func removeRun(dir, id string) error {
	var errs []error
	pids, _ := filepath.Glob(filepath.Join(dir, "pids", "*.pid"))
	for _, pf := range pids {
		killRecorded(pf, dir)
	}
	// The containers outlive the daemon (their shims run on): start it on
	// its own state once more to remove them.
	if ctrd := filepath.Join(dir, "containerd"); isDir(ctrd) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		if d, err := containerdproc.Start(ctx, ctrd, slog.New(slog.DiscardHandler)); err == nil {
			errs = append(errs, d.Purge(ctx), d.Stop())
		} else {
			errs = append(errs, err)
		}
		cancel()
	}
	names, err := namespace.List(namespace.DefaultDir, nsPrefix+id+"-")
	errs = append(errs, err)
	for _, n := range names {
		errs = append(errs, namespace.Delete(namespace.Path(namespace.DefaultDir, n)))
	}
	errs = append(errs, os.RemoveAll(dir))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("harness: remove run %s: %w", id, err)
	}
	return nil
}

// killRecorded kills the PID in pidFile if its command line names runDir.
func killRecorded(pidFile, runDir string) {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return
	}
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || !strings.Contains(string(cmdline), runDir) {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for range 50 {
		if syscall.Kill(pid, 0) != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = os.Remove(pidFile)
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
