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
	ctr, err := c.client.LoadContainer(ctx, id)
	if err != nil {
		return -1, wrap(err, "exec in container %s", id)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return -1, wrap(err, "exec in container %s: no running task", id)
	}
	if st, err := task.Status(ctx); err != nil {
		return -1, wrap(err, "exec in container %s: task status", id)
	} else if st.Status != client.Running {
		return -1, fmt.Errorf("exec in container %s: task is %s, not running: %w", id, st.Status, ErrNotRunning)
	}
	spec, err := ctr.Spec(ctx)
	if err != nil {
		return -1, wrap(err, "exec in container %s: spec", id)
	}
	// The exec'd process runs as the container's own process does (user,
	// cwd, env, capabilities), with other arguments.
	pspec := *spec.Process
	pspec.Args = cfg.Args
	pspec.Terminal = cfg.TTY
	pspec.Env = append(append([]string(nil), spec.Process.Env...), cfg.Env...)
	pspec.ConsoleSize = nil

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
	proc, err := task.Exec(ctx, execID, &pspec, cio.NewCreator(opts...))
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
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case sz, ok := <-cfg.Resize:
					if !ok {
						return
					}
					_ = proc.Resize(ctx, uint32(sz.Width), uint32(sz.Height))
				}
			}
		}()
	}
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
	drained := make(chan struct{})
	go func() { proc.IO().Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(ioDrainTimeout):
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
