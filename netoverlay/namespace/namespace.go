// Package namespace creates, enters and removes named network namespaces the
// way `ip netns add` does: an empty file under a directory (by default
// /var/run/netns) with the namespace bind-mounted on it, so the namespace
// outlives the process that made it and `ip netns` sees it.
//
// It touches only the files and mounts under the directory it is given, and
// makes that directory a shared mount point as ip(8) does, so a later unmount
// reaches every mount namespace that copied the bind mount. It never changes
// the network namespace of a thread other than the ones it locks and then
// throws away.
package namespace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultDir is where ip(8) keeps named network namespaces.
const DefaultDir = "/var/run/netns"

// nsfsMagic is the filesystem type of a mounted namespace file (NSFS_MAGIC).
const nsfsMagic = 0x6e736673

// Path returns the file of the named namespace in dir.
func Path(dir, name string) string { return filepath.Join(dir, name) }

// IsNetNS reports whether path is a mounted network namespace file (and not,
// say, the empty placeholder a crash or a reboot leaves behind).
func IsNetNS(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == nsfsMagic
}

// Ensure returns the path of the named namespace in dir, creating it if it
// does not exist or if only a stale placeholder file is left. The bool is true
// when a new namespace was made.
func Ensure(dir, name string) (string, bool, error) {
	if name == "" || strings.ContainsRune(name, '/') || name == "." || name == ".." {
		return "", false, fmt.Errorf("netns %q: invalid name", name)
	}
	path := Path(dir, name)
	if IsNetNS(path) {
		return path, false, nil
	}
	if err := ensureSharedDir(dir); err != nil {
		return "", false, err
	}
	// A leftover file that is not a mount is an earlier attempt that died
	// half-way (or a reboot); replace it.
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("netns %s: remove stale file: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return "", false, fmt.Errorf("netns %s: create file: %w", path, err)
	}
	f.Close()
	if err := onThrowawayThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare: %w", err)
		}
		self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(self, path, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind mount: %w", err)
		}
		return nil
	}); err != nil {
		os.Remove(path)
		return "", false, fmt.Errorf("netns %s: %w", path, err)
	}
	return path, true, nil
}

// Delete unmounts and removes the namespace file at path. The namespace itself
// goes away once no process is left in it. A missing file is not an error.
func Delete(path string) error {
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		// EINVAL: not a mount point any more, the file alone is left.
		return fmt.Errorf("netns %s: unmount: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("netns %s: remove: %w", path, err)
	}
	return nil
}

// List returns the names of the entries in dir that start with prefix,
// mounted or not.
func List(dir, prefix string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("netns dir %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Do runs fn on an OS thread that has entered the network namespace at path.
// Sockets fn opens stay in that namespace after it returns. The thread is
// thrown away afterwards rather than switched back, so no goroutine can ever
// run on a thread left in the wrong namespace.
func Do(path string, fn func() error) error {
	return onThrowawayThread(func() error {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("netns %s: open: %w", path, err)
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("netns %s: setns: %w", path, err)
		}
		return fn()
	})
}

// onThrowawayThread runs fn on a fresh goroutine locked to its thread and
// never unlocks it: when the goroutine ends, the Go runtime terminates the
// thread together with whatever namespace it was moved into.
func onThrowawayThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- fn()
	}()
	return <-errc
}

// ensureSharedDir makes dir exist and be a shared mount point, as
// `ip netns add` does. Without it, a mount namespace created while a netns
// file is mounted keeps a private copy of that mount, and the namespace (with
// its veth) lingers after Delete.
func ensureSharedDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("netns dir %s: %w", dir, err)
	}
	err := unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("netns dir %s: make shared: %w", dir, err)
	}
	// EINVAL: dir is not a mount point yet. Bind it onto itself (recursively,
	// so namespaces already mounted below stay visible), then share it.
	if err := unix.Mount(dir, dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("netns dir %s: bind onto itself: %w", dir, err)
	}
	if err := unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("netns dir %s: make shared: %w", dir, err)
	}
	return nil
}
