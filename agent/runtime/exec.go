package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ioDrainTimeout bounds how long Exec waits, after the process exited, for
// its output to be copied: a background child that inherited stdout must
// not hold the call open for ever.
const ioDrainTimeout = 2 * time.Second

// Exec implements Execer.
func (c *Containerd) Exec(ctx context.Context, id string, cfg ExecConfig) (int, error) {
	if len(cfg.Args) == 0 {
		return -1, fmt.Errorf("exec in container %s: no command", id)
	}
	ctx = c.ns(ctx)
	task, pspec, err := c.execTarget(ctx, id, cfg)
	if err != nil {
		return -1, err
	}
	var stdin io.Reader
	var closer *stdinCloser
	if cfg.Stdin != nil {
		closer = &stdinCloser{r: cfg.Stdin}
		stdin = closer
	}
	opts := []cio.Opt{cio.WithStreams(stdin, nonNil(cfg.Stdout), nonNil(cfg.Stderr))}
	if cfg.TTY {
		opts = append(opts, cio.WithTerminal)
	}
	execID := newExecID()
	proc, err := task.Exec(ctx, execID, pspec, cio.NewCreator(opts...))
	if err != nil {
		return -1, wrap(err, "exec in container %s", id)
	}
	// Cleanup must run even when ctx has ended.
	cleanup := context.WithoutCancel(ctx)
	defer func() {
		if _, err := proc.Delete(cleanup, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			c.logger.Debug("delete exec process", "id", id, "exec", execID, "err", err)
		}
	}()
	exits, err := proc.Wait(ctx)
	if err != nil {
		return -1, wrap(err, "exec in container %s: wait", id)
	}
	if closer != nil {
		closer.arm(func() { _ = proc.CloseIO(cleanup, client.WithStdinCloser) })
	}
	if err := proc.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return -1, fmt.Errorf("exec in container %s: start %q: %w", id, cfg.Args[0], ctx.Err())
		}
		return -1, wrap(err, "exec in container %s: start %q", id, cfg.Args[0])
	}
	if cfg.TTY && cfg.Resize != nil {
		done := make(chan struct{})
		defer close(done)
		go forwardResizes(ctx, done, proc, cfg.Resize)
	}
	return awaitExec(ctx, cleanup, id, proc, exits)
}

// execTarget finds the container's running task and the process spec of a
// command run in it: the container's own process (user, cwd, env,
// capabilities) with cfg's arguments, terminal and extra env.
func (c *Containerd) execTarget(ctx context.Context, id string, cfg ExecConfig) (client.Task, *specs.Process, error) {
	ctr, err := c.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, nil, wrap(err, "exec in container %s", id)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return nil, nil, wrap(err, "exec in container %s: no running task", id)
	}
	if st, err := task.Status(ctx); err != nil {
		return nil, nil, wrap(err, "exec in container %s: task status", id)
	} else if st.Status != client.Running {
		return nil, nil, fmt.Errorf("exec in container %s: task is %s, not running: %w", id, st.Status, ErrNotRunning)
	}
	spec, err := ctr.Spec(ctx)
	if err != nil {
		return nil, nil, wrap(err, "exec in container %s: spec", id)
	}
	pspec := *spec.Process
	pspec.Args = cfg.Args
	pspec.Terminal = cfg.TTY
	pspec.Env = append(append([]string(nil), spec.Process.Env...), cfg.Env...)
	pspec.ConsoleSize = nil
	return task, &pspec, nil
}

// forwardResizes applies the caller's terminal sizes until ctx ends, the
// caller closes resize, or Exec returns (done).
func forwardResizes(ctx context.Context, done <-chan struct{}, proc client.Process, resize <-chan TermSize) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case sz, ok := <-resize:
			if !ok {
				return
			}
			_ = proc.Resize(ctx, uint32(sz.Width), uint32(sz.Height))
		}
	}
}

// awaitExec waits for the exec'd process to exit and its output to be
// copied (at most ioDrainTimeout more), killing it if ctx ends first.
func awaitExec(ctx, cleanup context.Context, id string, proc client.Process, exits <-chan client.ExitStatus) (int, error) {
	var status client.ExitStatus
	select {
	case status = <-exits:
	case <-ctx.Done():
		// The caller gave up (timeout, client gone): the process must not
		// outlive the request.
		_ = proc.Kill(cleanup, syscall.SIGKILL)
		return -1, fmt.Errorf("exec in container %s: %w", id, ctx.Err())
	}
	if err := status.Error(); err != nil {
		if ctx.Err() != nil {
			// Wait(ctx) reports the caller's deadline as its own error
			// (through gRPC, so no longer a context error): say what
			// really happened, and make sure the process is gone.
			_ = proc.Kill(cleanup, syscall.SIGKILL)
			return -1, fmt.Errorf("exec in container %s: %w", id, ctx.Err())
		}
		return -1, wrap(err, "exec in container %s: wait", id)
	}
	// The goroutine ends when the copy does, at the latest when Exec's
	// deferred Delete closes the process's IO.
	drained := make(chan struct{})
	go func() { proc.IO().Wait(); close(drained) }()
	t := time.NewTimer(ioDrainTimeout)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
	}
	return int(status.ExitCode()), nil
}

// stdinCloser tells the process its stdin ended (CloseIO) when the caller's
// reader does: closing our end of the FIFO alone is not enough, the shim
// holds it open too.
type stdinCloser struct {
	r io.Reader

	mu      sync.Mutex
	onEOF   func()
	sawEOF  bool
	calledf bool
}

func (s *stdinCloser) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if errors.Is(err, io.EOF) {
		s.mu.Lock()
		s.sawEOF = true
		s.fire()
		s.mu.Unlock()
	}
	return n, err
}

// arm sets what to call at EOF; the process must exist first, and stdin may
// already have ended by then.
func (s *stdinCloser) arm(f func()) {
	s.mu.Lock()
	s.onEOF = f
	if s.sawEOF {
		s.fire()
	}
	s.mu.Unlock()
}

func (s *stdinCloser) fire() {
	if s.onEOF != nil && !s.calledf {
		s.calledf = true
		go s.onEOF()
	}
}

func nonNil(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func newExecID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "exec-" + hex.EncodeToString(b[:])
}
