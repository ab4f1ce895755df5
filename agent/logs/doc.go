// Package logs keeps replicas' output files: one file per replica that the
// container shim appends to, rotated by size into numbered copies, read back
// as the last N lines or followed as it grows.
//
// The shim holds the current file open with O_APPEND for the whole life of
// a task, so rotation is copy-then-truncate: the file keeps its inode and
// the shim's next write lands at offset 0. A line written in the instant
// between the last copy and the truncation can be lost; that is the price
// of not routing output through the agent (output keeps flowing while the
// agent is down).
//
// It owns the files under its directory. It must not start, stop or
// reconfigure containers. Readers and the rotator in one process are
// coordinated by a per-file lock, so a follower never misses or repeats
// bytes across a rotation.
package logs
