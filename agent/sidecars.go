package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/internal/backoff"
	orchpb "github.com/orch-io/orch/proto"
)

// sidecarSet runs a replica's sidecars, one goroutine each, beside the
// main container. They end with their context: the agent's shutdown
// (their containers keep running, for adoption) or stop, which the worker
// calls before it removes the replica's containers, so the runtime never
// sees two callers for one container.
type sidecarSet struct {
	// adopted are the extra containers an earlier agent process left, by
	// name; set before run and read only by the worker's goroutine.
	adopted map[string]*containerRef
	mu      sync.Mutex
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// stop ends every sidecar goroutine and waits for them; their containers
// are left as they are. Safe to call more than once, or before any start.
func (s *sidecarSet) stop() {
	s.mu.Lock()
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.wg.Wait()
}

func (s *sidecarSet) wait() { s.wg.Wait() }

// startSidecars starts a goroutine for each sidecar of the replica.
func (w *replicaWorker) startSidecars(ctx context.Context) {
	specs := w.asg.GetSpec().GetSidecars()
	if len(specs) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	w.sidecars.mu.Lock()
	w.sidecars.cancel = cancel
	w.sidecars.mu.Unlock()
	restart := w.asg.GetSpec().GetRestart()
	for _, c := range specs {
		sc := &sidecar{
			w:       w,
			spec:    c,
			id:      extraContainerID(w.id, c.GetName()),
			adopted: w.sidecars.adopted[c.GetName()],
			backoff: restartBackoff(restart.BackoffInitialOrDefault(), restart.BackoffMaxOrDefault()),
			log:     w.log.With("container", c.GetName()),
		}
		w.sidecars.wg.Add(1)
		go func() {
			defer w.sidecars.wg.Done()
			sc.run(ctx)
		}()
	}
}

// stopSidecars stops the sidecars' containers of a replica that finished,
// keeping them (and their output) until the replica is removed.
func (w *replicaWorker) stopSidecars(ctx context.Context) {
	w.sidecars.stop()
	grace := w.asg.GetSpec().StopGracePeriodOrDefault()
	for _, c := range w.asg.GetSpec().GetSidecars() {
		if err := w.env.runtime.Stop(ctx, extraContainerID(w.id, c.GetName()), grace); err != nil && !errors.Is(err, runtime.ErrNotFound) && ctx.Err() == nil {
			w.log.Warn("stop sidecar", "container", c.GetName(), "err", err)
		}
		w.setContainer(c.GetName(), func(cs *orchpb.ContainerStatus) {
			if cs.Observed() == orchpb.ContainerRunning || cs.Observed() == orchpb.ContainerWaiting {
				cs.SetObserved(orchpb.ContainerStopped)
				cs.Message = "the main container finished"
			}
		})
	}
}

// sidecar is one sidecar container: started, watched and restarted with
// the service's restart policy and backoff, on its own; its crashes touch
// neither the main container nor the other sidecars.
type sidecar struct {
	w       *replicaWorker
	spec    *orchpb.ReplicaContainerSpec
	id      string
	adopted *containerRef
	backoff *backoff.Backoff
	log     *slog.Logger
}

func (s *sidecar) run(ctx context.Context) {
	exists := s.adopted != nil
	running := exists && s.adopted.taskStatus == "running"
	switch {
	case running:
		s.log.Info("adopted running sidecar", "pid", s.adopted.pid)
		s.set(func(c *orchpb.ContainerStatus) { c.SetObserved(orchpb.ContainerRunning) })
	case exists:
		// It exited while no agent watched: that is a restart too.
		s.set(func(c *orchpb.ContainerStatus) { c.Restarts++ })
		countRestart("sidecar")
	}
	failures := 0
	for ctx.Err() == nil {
		if !running {
			err := s.start(ctx, exists)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				exists = !errors.Is(err, errNotCreated)
				failures++
				if !s.startFailed(ctx, err, failures) {
					return
				}
				continue
			}
			exists, running, failures = true, true, 0
		}
		exit, ok := s.waitExit(ctx)
		if !ok {
			return
		}
		if exit.Err != nil {
			s.log.Warn("lost track of the sidecar; checking again", "err", exit.Err)
			if s.backoff.Sleep(ctx, time.Second) != nil {
				return
			}
			continue
		}
		running = false
		if !s.exited(ctx, exit) {
			return
		}
	}
}

// start makes the container (unless it exists) and starts its task.
func (s *sidecar) start(ctx context.Context, exists bool) error {
	w := s.w
	att, err := w.env.network.Setup(ctx, w.id)
	if err != nil {
		return fmt.Errorf("%w: network: %w", errNotCreated, err)
	}
	if !exists {
		cfg := w.extraConfig(s.spec, s.id, att.NetNSPath)
		if err := w.createContainer(ctx, cfg, att.IP); err != nil {
			return err
		}
	}
	pid, err := w.env.runtime.Start(ctx, s.id)
	if err != nil {
		return fmt.Errorf("start task: %w", err)
	}
	now := w.env.now().UnixMilli()
	s.set(func(c *orchpb.ContainerStatus) {
		c.SetObserved(orchpb.ContainerRunning)
		c.StartedAt, c.Message = now, ""
	})
	s.log.Info("sidecar started", "pid", pid)
	return nil
}

// startFailed records a failed start and waits out the backoff; false
// means the sidecar's goroutine must end.
func (s *sidecar) startFailed(ctx context.Context, err error, failures int) bool {
	s.log.Warn("sidecar start failed", "attempt", failures, "err", err)
	if failures >= maxStartFailures {
		s.set(func(c *orchpb.ContainerStatus) {
			c.SetObserved(orchpb.ContainerFailed)
			c.Message = "failed to start: " + err.Error()
		})
		<-ctx.Done()
		return false
	}
	delay := s.backoff.Next()
	s.set(func(c *orchpb.ContainerStatus) {
		c.SetObserved(orchpb.ContainerWaiting)
		c.Message = fmt.Sprintf("start failed: %v; retrying in %s", err, delay)
	})
	return s.backoff.Sleep(ctx, delay) == nil
}

func (s *sidecar) waitExit(ctx context.Context) (runtime.ExitStatus, bool) {
	exitCh, err := s.w.env.runtime.Wait(ctx, s.id)
	if err != nil {
		if ctx.Err() != nil {
			return runtime.ExitStatus{}, false
		}
		return runtime.ExitStatus{Err: err}, true
	}
	select {
	case <-ctx.Done():
		return runtime.ExitStatus{}, false
	case exit := <-exitCh:
		if ctx.Err() != nil {
			return exit, false
		}
		return exit, true
	}
}

// exited records the sidecar's exit and, as the restart policy says,
// waits out the backoff before the next start or stays down.
func (s *sidecar) exited(ctx context.Context, exit runtime.ExitStatus) bool {
	w := s.w
	ranFor := w.env.now().Sub(time.UnixMilli(w.containerStartedAt(s.spec.GetName())))
	reason := fmt.Sprintf("exited %d", exit.Code)
	if exit.OOMKilled {
		reason = "OOM killed"
	}
	failed := exit.Code != 0 || exit.OOMKilled
	s.log.Info("sidecar exited", "code", exit.Code, "reason", reason, "ran_for", ranFor.Round(time.Millisecond))
	if !shouldRestart(w.asg.GetSpec().GetRestart().GetPolicy(), failed) {
		s.set(func(c *orchpb.ContainerStatus) {
			c.ExitCode, c.Message = int32(exit.Code), reason
			c.SetObserved(orchpb.ContainerStopped)
			if failed {
				c.SetObserved(orchpb.ContainerFailed)
			}
		})
		<-ctx.Done()
		return false
	}
	delay := s.backoff.NextAfter(ranFor)
	s.set(func(c *orchpb.ContainerStatus) {
		c.ExitCode = int32(exit.Code)
		c.SetObserved(orchpb.ContainerWaiting)
		c.Message = fmt.Sprintf("%s; restarting in %s", reason, delay)
	})
	if s.backoff.Sleep(ctx, delay) != nil {
		return false
	}
	s.set(func(c *orchpb.ContainerStatus) { c.Restarts++ })
	countRestart("sidecar")
	return true
}

func (s *sidecar) set(fn func(c *orchpb.ContainerStatus)) { s.w.setContainer(s.spec.GetName(), fn) }

// extraConfig is the runtime's description of a sidecar or init container,
// held to its own resources.
func (w *replicaWorker) extraConfig(c *orchpb.ReplicaContainerSpec, id, netns string) runtime.ContainerConfig {
	cfg := w.containerConfig(id, netns, processSpec{
		Image: c.GetImage(), Command: c.GetCommand(), Args: c.GetArgs(), Env: c.GetEnv(),
		User: c.GetUser(), ReadOnlyRootFS: c.GetReadOnlyRootFilesystem(), Capabilities: c.GetCapabilities(),
	})
	own := w.asg.GetReplica().GetContainerResources()[c.GetName()]
	cfg.CPUMillis, cfg.MemoryBytes = own.GetCpuMillis(), own.GetMemoryBytes()
	cfg.Pids = int64(c.GetResources().PidsOrDefault())
	return cfg
}
