// Package runtime is the agent's boundary to containers: the Runtime
// interface the agent core drives, and its containerd implementation.
//
// It owns the containers, tasks and snapshots in its containerd namespace
// ("orch" by default) and the images it imports or pulls there. It must not
// touch other namespaces, the containerd daemon itself (see containerdproc),
// network namespaces (netoverlay creates them and passes a path in), or log
// rotation (the shim writes LogPath; the logs package rotates it).
//
// Notes for callers:
//
//   - Logs: the shim opens LogPath with O_APPEND when the task starts and
//     keeps it open until the task ends; stdout and stderr interleave in it
//     without markers. Rotate by copy-and-truncate, or between task runs.
//   - Limits go through the OCI spec and runc's cgroupfs driver, at cgroup
//     /<namespace>/<id>. cgroup v1 and hybrid hosts are tested; the v2 paths
//     (memory.events, memory.max) are written but untested so far. A
//     memory limit also caps swap, where the kernel accounts swap.
//   - OOM detection reads the container cgroup's oom_kill counter when the
//     exit is seen (oom.go).
//   - The v2 Go client is used only through APIs containerd 1.6 serves
//     (containers, tasks, images, content, snapshots, leases, diff): no
//     transfer or sandbox service.
package runtime

import (
	"context"
	"errors"
	"io"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Errors are returned wrapped with the container id or image; test them with
// errors.Is.
var (
	// ErrNotFound: the container, its task or the image does not exist.
	ErrNotFound = errors.New("runtime: not found")
	// ErrAlreadyExists: a container with that id, or a running task for it,
	// already exists.
	ErrAlreadyExists = errors.New("runtime: already exists")
	// ErrNotRunning: the container exists but has no running task (exec).
	ErrNotRunning = errors.New("runtime: not running")
)

// Runtime runs containers on this machine.
//
// Concurrency: all methods are safe for concurrent use. Calls for different
// ids may run in parallel. For one id the caller sequences Create, Start,
// Stop and Delete (the agent's per-replica controller does); Wait may run
// alongside any of them and is how the caller learns of every exit, including
// one caused by Stop.
//
// Lifetime: containers and their tasks belong to containerd, not to the
// Runtime value or the agent process. They survive Close and an agent
// restart; List and Wait re-attach to them (adoption).
type Runtime interface {
	// EnsureImage makes ref available and unpacked. If it is absent it asks
	// the configured ImageSource and imports what that returns, or, when
	// there is no source or the source reports ErrNotFound, pulls ref from
	// its registry.
	EnsureImage(ctx context.Context, ref string) error
	// ImportImage reads an OCI or docker-archive tarball, stores and unpacks
	// every image in it, and returns their names.
	ImportImage(ctx context.Context, r io.Reader) ([]string, error)
	// Create makes the container and its writable snapshot; no process runs
	// until Start. The image must already be present (EnsureImage).
	Create(ctx context.Context, c ContainerConfig) error
	// Start runs the container's process as a new task whose stdout and
	// stderr the shim appends to the container's LogPath, so output keeps
	// flowing while the agent is down. A stopped task left from a previous
	// run is deleted first, so Start is also how a container restarts.
	Start(ctx context.Context, id string) (pid uint32, err error)
	// Wait returns a channel that yields the exit of the container's current
	// task once and is then closed. It works on a task started by an earlier
	// agent process. If ctx ends first the status carries ctx's error.
	Wait(ctx context.Context, id string) (<-chan ExitStatus, error)
	// Stop sends the image's stop signal (SIGTERM by default), SIGKILL after
	// grace, waits for the exit and deletes the task. The container and its
	// snapshot stay. Stopping a container with no task is not an error.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Delete kills and removes the task if there is one, then the container
	// and its snapshot.
	Delete(ctx context.Context, id string) error
	// List returns every container in the namespace, with its task's state.
	List(ctx context.Context) ([]ContainerInfo, error)
}

// ContainerConfig describes a container to Create.
type ContainerConfig struct {
	ID    string
	Image string // a reference as given to EnsureImage
	// Command replaces the image's entrypoint and Args its cmd, as in
	// Kubernetes: with Command set and Args empty, the image's cmd is
	// dropped; with only Args set, they follow the image's entrypoint.
	Command, Args []string
	Env           map[string]string // added to, and overriding, the image's env

	// CPUMillis limits CPU time as a CFS quota (1000 = one core per 100ms
	// period) with proportional shares; MemoryBytes is a hard memory limit
	// (the container is OOM-killed past it). 0 means unlimited.
	CPUMillis   int64
	MemoryBytes int64
	// Pids caps the processes and threads in the container (the pids
	// cgroup); 0 means unlimited, as for the other limits.
	Pids int64

	// Every container runs with containerd's default seccomp profile and
	// capability set less NET_RAW, no new privileges, and no host
	// namespace or mount beyond Mounts (security.go). These widen or narrow
	// that:
	//
	// User is UID[:GID] or NAME[:GROUP], names resolved in the image's
	// /etc/passwd and /etc/group; empty keeps the image's user.
	User string
	// ReadOnlyRootFS mounts the image's filesystem read-only; Mounts stay
	// as they are.
	ReadOnlyRootFS bool
	// AddCapabilities are names without CAP_ (NET_RAW). Which ones a
	// service may ask for is decided at admission, not here.
	AddCapabilities []string

	// NetNSPath joins an existing network namespace (netoverlay makes one
	// per replica). Empty gives the container a new, private and empty
	// network namespace, never the host's: the host network is not offered.
	NetNSPath string
	Hostname  string // defaults to ID (cut to 63 bytes)
	// LogPath receives stdout and stderr, appended by the shim. It must be
	// absolute; empty discards output. It is stored with the container, so
	// every later Start writes to it.
	LogPath string
	// Labels are stored on the container and returned by List; keys under
	// LabelPrefix are reserved.
	Labels map[string]string
	Mounts []specs.Mount // extra mounts, e.g. /etc/resolv.conf
	// Devices are host device nodes the container gets at the same path,
	// with a cgroup rule allowing read, write and mknod on each: exactly
	// these, beyond containerd's default set (null, zero, tty, ...).
	Devices []string
}

// ContainerInfo is one container as List sees it.
type ContainerInfo struct {
	ID     string
	Labels map[string]string // as given to Create, without reserved keys
	Image  string
	// TaskStatus is "" when there is no task, else containerd's status:
	// "created", "running", "stopped", "paused", "pausing" or "unknown".
	TaskStatus string
	PID        uint32 // the task's init process, 0 without a task
}

// ExitStatus is how a task ended.
type ExitStatus struct {
	Code     uint32
	ExitedAt time.Time
	// OOMKilled is best effort: the kernel's OOM killer killed a process in
	// the container's memory cgroup (not necessarily its init) during this
	// task's life. See oom.go for how it is read.
	OOMKilled bool
	// Err is set when the exit could not be observed (ctx ended, containerd
	// went away); Code is then meaningless.
	Err error
}

// ImageSource fetches an image tarball (OCI or docker-archive) by reference,
// e.g. from the masters for images loaded with `orchctl image load`. It
// returns an error wrapping ErrNotFound when it does not hold ref.
type ImageSource func(ctx context.Context, ref string) (io.ReadCloser, error)

// Execer runs further processes inside running containers: `orchctl exec`
// and exec health checks. It is separate from Runtime so that a runtime
// without processes to enter (a simulated one) need not pretend.
//
// Concurrency: safe for concurrent use, also alongside the Runtime methods
// for the same id; Stop or Delete of the container ends its exec'd
// processes.
type Execer interface {
	// Exec runs cfg.Args in the container's running task and returns its
	// exit code once it has ended and its output has been copied. Ending
	// ctx kills the process. A container without a running task gives an
	// error wrapping ErrNotRunning (or ErrNotFound).
	Exec(ctx context.Context, id string, cfg ExecConfig) (exitCode int, err error)
}

// ExecConfig describes a process to Exec.
type ExecConfig struct {
	Args []string
	Env  []string // KEY=VALUE, added to the container's environment
	// Stdin, when not nil, is copied to the process; its EOF closes the
	// process's stdin. Stdout and Stderr may be nil (output discarded).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// TTY gives the process a terminal: output then all goes to Stdout,
	// and Resize changes the terminal's size.
	TTY    bool
	Resize <-chan TermSize
}

// TermSize is a terminal's size in characters.
type TermSize struct{ Width, Height uint16 }
