package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
)

// Start implements Runtime.
func (c *Containerd) Start(ctx context.Context, id string) (uint32, error) {
	ctx = c.ns(ctx)
	ctr, err := c.client.LoadContainer(ctx, id)
	if err != nil {
		return 0, wrap(err, "start container %s", id)
	}
	if err := c.clearOldTask(ctx, ctr); err != nil {
		return 0, fmt.Errorf("start container %s: %w", id, err)
	}
	labels, err := ctr.Labels(ctx)
	if err != nil {
		return 0, wrap(err, "start container %s: labels", id)
	}
	ioCreator := cio.NullIO
	if path := labels[labelLogPath]; path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return 0, fmt.Errorf("start container %s: log directory: %w", id, err)
		}
		// The shim opens the file itself (O_APPEND), so output does not
		// pass through, or depend on, the agent.
		ioCreator = cio.LogFile(path)
	}
	task, err := ctr.NewTask(ctx, ioCreator)
	if err != nil {
		return 0, wrap(err, "start container %s: create task", id)
	}
	if err := task.Start(ctx); err != nil {
		if _, derr := task.Delete(context.WithoutCancel(ctx), client.WithProcessKill); derr != nil {
			c.logger.Warn("delete task after failed start", "id", id, "err", derr)
		}
		return 0, wrap(err, "start container %s", id)
	}
	c.logger.Debug("container started", "id", id, "pid", task.Pid())
	return task.Pid(), nil
}

// clearOldTask deletes a task that has exited, or was created but never
// started (an agent that died between the two), so a new one can be made.
func (c *Containerd) clearOldTask(ctx context.Context, ctr client.Container) error {
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return wrap(err, "load task")
	}
	st, err := task.Status(ctx)
	if err != nil {
		return wrap(err, "task status")
	}
	switch st.Status {
	case client.Running, client.Paused, client.Pausing:
		return fmt.Errorf("task is %s (pid %d): %w", st.Status, task.Pid(), ErrAlreadyExists)
	}
	if _, err := task.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
		return wrap(err, "delete %s task", st.Status)
	}
	return nil
}

// Wait implements Runtime.
func (c *Containerd) Wait(ctx context.Context, id string) (<-chan ExitStatus, error) {
	ctx = c.ns(ctx)
	ctr, err := c.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, wrap(err, "wait container %s", id)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return nil, wrap(err, "wait container %s: task", id)
	}
	oomDir := ""
	if spec, err := ctr.Spec(ctx); err == nil && spec.Linux != nil && spec.Linux.CgroupsPath != "" {
		oomDir = detectCgroups().memoryCgroupDir(spec.Linux.CgroupsPath)
	}
	exits, err := task.Wait(ctx)
	if err != nil {
		return nil, wrap(err, "wait container %s", id)
	}
	out := make(chan ExitStatus, 1)
	go func() {
		defer close(out)
		s, ok := <-exits
		if !ok {
			out <- ExitStatus{Err: fmt.Errorf("wait container %s: no exit status", id)}
			return
		}
		es := ExitStatus{Code: s.ExitCode(), ExitedAt: s.ExitTime()}
		if err := s.Error(); err != nil {
			es.Err = wrap(err, "wait container %s", id)
		} else if oomDir != "" {
			es.OOMKilled = c.oomKilled(oomDir)
		}
		out <- es
	}()
	return out, nil
}

// Stop implements Runtime.
func (c *Containerd) Stop(ctx context.Context, id string, grace time.Duration) error {
	ctx = c.ns(ctx)
	ctr, err := c.client.LoadContainer(ctx, id)
	if err != nil {
		return wrap(err, "stop container %s", id)
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return wrap(err, "stop container %s: task", id)
	}
	st, err := task.Status(ctx)
	if err != nil {
		return wrap(err, "stop container %s: task status", id)
	}
	if st.Status == client.Running {
		if err := c.signalAndWait(ctx, ctr, task, grace); err != nil {
			return fmt.Errorf("stop container %s: %w", id, err)
		}
	}
	// Anything else (created, paused, already stopped) is killed outright.
	if _, err := task.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
		return wrap(err, "stop container %s: delete task", id)
	}
	c.logger.Debug("container stopped", "id", id)
	return nil
}

// signalAndWait sends the stop signal, then SIGKILL once grace has passed,
// and returns when the task has exited.
func (c *Containerd) signalAndWait(ctx context.Context, ctr client.Container, task client.Task, grace time.Duration) error {
	// Wait before Kill, or a fast exit could be missed.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	exits, err := task.Wait(ctx)
	if err != nil {
		return wrap(err, "wait")
	}
	sig, err := client.GetStopSignal(ctx, ctr, syscall.SIGTERM)
	if err != nil {
		sig = syscall.SIGTERM
	}
	if err := task.Kill(ctx, sig); err != nil && !errdefs.IsNotFound(err) {
		return wrap(err, "send %v", sig)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case s := <-exits:
		return s.Error()
	case <-timer.C:
	}
	c.logger.Info("stop grace expired, killing", "id", ctr.ID(), "grace", grace, "signal", sig)
	if err := task.Kill(ctx, syscall.SIGKILL); err != nil && !errdefs.IsNotFound(err) {
		return wrap(err, "send SIGKILL")
	}
	select {
	case s := <-exits:
		return s.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Delete implements Runtime.
func (c *Containerd) Delete(ctx context.Context, id string) error {
	ctx = c.ns(ctx)
	ctr, err := c.client.LoadContainer(ctx, id)
	if err != nil {
		return wrap(err, "delete container %s", id)
	}
	task, err := ctr.Task(ctx, nil)
	switch {
	case err == nil:
		if _, err := task.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return wrap(err, "delete container %s: task", id)
		}
	case !errdefs.IsNotFound(err):
		return wrap(err, "delete container %s: task", id)
	}
	if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
		return wrap(err, "delete container %s", id)
	}
	c.logger.Debug("container deleted", "id", id)
	return nil
}
