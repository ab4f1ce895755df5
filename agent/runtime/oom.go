package runtime

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// oomKilled reads the kernel's count of OOM kills in the container's memory
// cgroup: "oom_kill N" in memory.oom_control (cgroup v1) or memory.events
// (cgroup v2). runc creates that cgroup with the task and removes it when the
// task is deleted, so the count covers exactly this task's life, and Wait
// reads it as soon as the exit is reported, before anyone can delete the
// task. It is best effort: when the file cannot be read (the task was already
// deleted, a cgroup driver other than cgroupfs) it reports false.
func (c *Containerd) oomKilled(cgroupDir string) bool {
	file := "memory.events"
	if !detectCgroups().unified {
		file = "memory.oom_control"
	}
	b, err := os.ReadFile(filepath.Join(cgroupDir, file))
	if err != nil {
		c.logger.Debug("cannot read OOM count", "cgroup", cgroupDir, "err", err)
		return false
	}
	return parseOOMKill(b) > 0
}

// parseOOMKill returns the value of the "oom_kill" line, 0 if absent.
func parseOOMKill(b []byte) uint64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, val, ok := bytes.Cut(sc.Bytes(), []byte(" "))
		if ok && string(key) == "oom_kill" {
			n, _ := strconv.ParseUint(string(bytes.TrimSpace(val)), 10, 64)
			return n
		}
	}
	return 0
}
