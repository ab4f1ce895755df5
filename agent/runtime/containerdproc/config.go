package containerdproc

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// maxSocketPath leaves room under the kernel's 108-byte sun_path limit for
// the ".ttrpc" suffix containerd derives from the gRPC address.
const maxSocketPath = 100

// disabledPlugins are switched off so that the private daemon neither serves
// CRI (which would want CNI and a sandbox image) nor probes snapshotters that
// only log errors on an ordinary filesystem.
var disabledPlugins = []string{
	"io.containerd.grpc.v1.cri",
	"io.containerd.snapshotter.v1.aufs",
	"io.containerd.snapshotter.v1.btrfs",
	"io.containerd.snapshotter.v1.devmapper",
	"io.containerd.snapshotter.v1.zfs",
}

// paths are the files and directories of one daemon under its directory.
type paths struct {
	dir, root, state, opt, socket, ttrpc, config, log string
}

func newPaths(dir string) paths {
	return paths{
		dir:    dir,
		root:   filepath.Join(dir, "root"),
		state:  filepath.Join(dir, "state"),
		opt:    filepath.Join(dir, "opt"),
		socket: filepath.Join(dir, "containerd.sock"),
		ttrpc:  filepath.Join(dir, "containerd.sock.ttrpc"),
		config: filepath.Join(dir, "config.toml"),
		log:    filepath.Join(dir, "containerd.log"),
	}
}

// configTOML renders a version 2 config, the newest format containerd 1.6
// reads (containerd 2.x still accepts it). Every path is set explicitly so
// that nothing falls back to /var/lib/containerd or /run/containerd, which a
// system daemon may own. The overlayfs snapshotter is containerd's default and
// needs only that root sits on a filesystem that can be an overlay lower dir
// (ext4, xfs; not overlay or tmpfs without xattrs); checkRootFS guards that.
func (p paths) configTOML() string {
	q := strconv.Quote
	disabled := ""
	for i, name := range disabledPlugins {
		if i > 0 {
			disabled += ", "
		}
		disabled += q(name)
	}
	return fmt.Sprintf(`version = 2
root = %s
state = %s
plugin_dir = ""
disabled_plugins = [%s]
oom_score = 0

[grpc]
  address = %s

[ttrpc]
  address = %s

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = %s
`, q(p.root), q(p.state), disabled, q(p.socket), q(p.ttrpc), q(p.opt))
}

// prepare creates the directory layout and writes config.toml.
func (p paths) prepare() error {
	if len(p.ttrpc) > maxSocketPath {
		return fmt.Errorf("containerd socket path %q is %d bytes, over the %d-byte unix socket limit: use a shorter directory",
			p.ttrpc, len(p.ttrpc), maxSocketPath)
	}
	for _, d := range []string{p.dir, p.root, p.state, p.opt} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return fmt.Errorf("create containerd directory %s: %w", d, err)
		}
	}
	if err := checkRootFS(p.root); err != nil {
		return err
	}
	if err := os.WriteFile(p.config, []byte(p.configTOML()), 0o600); err != nil {
		return fmt.Errorf("write containerd config %s: %w", p.config, err)
	}
	return nil
}
