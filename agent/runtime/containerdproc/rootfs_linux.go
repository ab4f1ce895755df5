package containerdproc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// checkRootFS refuses a root on overlayfs: the overlayfs snapshotter would
// start but every container mount would fail later with an obscure EINVAL,
// which is far harder to diagnose than this error.
func checkRootFS(root string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return fmt.Errorf("statfs containerd root %s: %w", root, err)
	}
	if st.Type == unix.OVERLAYFS_SUPER_MAGIC {
		return fmt.Errorf("containerd root %s is on overlayfs, where the overlayfs snapshotter cannot work: choose a directory on ext4 or xfs", root)
	}
	return nil
}
