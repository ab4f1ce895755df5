package runtime

import (
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// cgroupRoot is where the cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupMode says which hierarchy runc puts a container's memory controller
// in: the unified (v2) one when /sys/fs/cgroup itself is cgroup2, else the
// v1 "memory" hierarchy (also on hybrid hosts, whose v2 mount has no
// controllers).
type cgroupMode struct {
	unified bool
	// swapAccounting: the kernel can limit swap, so a swap limit in the spec
	// is accepted. On v1 without it runc fails on memory.memsw.*.
	swapAccounting bool
}

var detectCgroups = sync.OnceValue(func() cgroupMode {
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		// runc ignores a swap limit of "no swap" when memory.swap.max is absent.
		return cgroupMode{unified: true, swapAccounting: true}
	}
	_, err := os.Stat(filepath.Join(cgroupRoot, "memory", "memory.memsw.limit_in_bytes"))
	return cgroupMode{swapAccounting: err == nil}
})

// memoryCgroupDir is the directory of the memory cgroup at cgroupsPath, the
// OCI spec's linux.cgroupsPath (absolute, cgroupfs driver).
func (m cgroupMode) memoryCgroupDir(cgroupsPath string) string {
	if m.unified {
		return filepath.Join(cgroupRoot, cgroupsPath)
	}
	return filepath.Join(cgroupRoot, "memory", cgroupsPath)
}
