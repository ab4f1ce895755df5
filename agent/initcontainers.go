package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orch-io/orch/agent/runtime"
	orchpb "github.com/orch-io/orch/proto"
)

// errStopped: the replica was told to stop while an init container ran;
// everything has been removed.
var errStopped = errors.New("replica stopped")

// runInit runs the init containers that have not completed yet, in order,
// each to completion, before the main container and the sidecars start. A
// failed one runs again after the replica's backoff, as the restart policy
// allows (never: the replica fails). It returns false when the worker must
// return: the agent is shutting down, the replica was stopped, or it failed
// for good.
//
// An init container the agent was watching when it stopped is run again
// from the start (its effects must be repeatable, as in Kubernetes); the
// main container existing already means init was done.
func (w *replicaWorker) runInit(ctx context.Context, mainExists bool) bool {
	inits := w.asg.GetSpec().GetInit()
	if mainExists && w.initDone() < len(inits) {
		// Saved state from before init containers were counted, or lost:
		// the main container exists, so init had completed.
		w.setInitDone(len(inits))
		for _, c := range inits {
			w.setContainer(c.GetName(), func(cs *orchpb.ContainerStatus) { cs.SetObserved(orchpb.ContainerCompleted) })
		}
	}
	restart := w.asg.GetSpec().GetRestart()
	bo := restartBackoff(restart.BackoffInitialOrDefault(), restart.BackoffMaxOrDefault())
	failures := 0
	for i := w.initDone(); i < len(inits); {
		c := inits[i]
		w.update(func(st *orchpb.ReplicaStatus) {
			st.SetObserved(orchpb.ReplicaStarting)
			st.Message = fmt.Sprintf("running init container %s (%d of %d)", c.GetName(), i+1, len(inits))
		})
		exit, err := w.runInitContainer(ctx, c)
		switch {
		case errors.Is(err, errStopped) || ctx.Err() != nil:
			return false
		case err != nil:
			failures++
			w.log.Warn("init container did not run", "container", c.GetName(), "attempt", failures, "err", err)
			if failures >= maxStartFailures {
				w.failForGood(ctx, fmt.Sprintf("init failed: %s: %v", c.GetName(), err))
				return false
			}
			if !w.initRetry(ctx, c.GetName(), fmt.Sprintf("init failed: %s: %v", c.GetName(), err), bo.Next()) {
				return false
			}
			continue
		}
		failures = 0
		if exit.Code == 0 && !exit.OOMKilled {
			w.log.Info("init container completed", "container", c.GetName())
			w.setContainer(c.GetName(), func(cs *orchpb.ContainerStatus) {
				cs.SetObserved(orchpb.ContainerCompleted)
				cs.ExitCode, cs.Message = 0, ""
			})
			i++
			w.setInitDone(i)
			continue
		}
		reason := fmt.Sprintf("init failed: %s exited %d", c.GetName(), exit.Code)
		if exit.OOMKilled {
			reason = fmt.Sprintf("init failed: %s OOM killed", c.GetName())
		}
		w.log.Warn("init container failed", "container", c.GetName(), "code", exit.Code)
		w.setContainer(c.GetName(), func(cs *orchpb.ContainerStatus) {
			cs.SetObserved(orchpb.ContainerFailed)
			cs.ExitCode = int32(exit.Code)
		})
		if w.asg.GetSpec().GetRestart().GetPolicy() == orchpb.RestartNever {
			w.failForGood(ctx, reason)
			return false
		}
		if !w.initRetry(ctx, c.GetName(), reason, bo.Next()) {
			return false
		}
	}
	return true
}

// initRetry reports why init stopped and waits out the delay before the
// init container runs again.
func (w *replicaWorker) initRetry(ctx context.Context, name, reason string, delay time.Duration) bool {
	w.update(func(st *orchpb.ReplicaStatus) {
		st.SetObserved(orchpb.ReplicaStarting)
		st.Message = fmt.Sprintf("%s; retrying in %s", reason, delay)
	})
	if !w.sleep(ctx, delay) {
		return false
	}
	w.setContainer(name, func(cs *orchpb.ContainerStatus) { cs.Restarts++ })
	countRestart("init")
	return true
}

// failForGood marks the replica failed and keeps it until it is removed.
func (w *replicaWorker) failForGood(ctx context.Context, reason string) {
	w.update(func(st *orchpb.ReplicaStatus) {
		st.SetObserved(orchpb.ReplicaFailed)
		st.Message = reason
	})
	w.waitStopOrShutdown(ctx)
}

// runInitContainer makes a fresh container for c, runs it and returns its
// exit. An error means it could not run (or errStopped).
func (w *replicaWorker) runInitContainer(ctx context.Context, c *orchpb.ReplicaContainerSpec) (runtime.ExitStatus, error) {
	id := extraContainerID(w.id, c.GetName())
	att, err := w.env.network.Setup(ctx, w.id)
	if err != nil {
		return runtime.ExitStatus{}, fmt.Errorf("network: %w", err)
	}
	if ip := att.IP.String(); ip != w.status().GetIp() {
		w.update(func(st *orchpb.ReplicaStatus) { st.Ip = ip })
	}
	// Each run starts from the image: a container left by an earlier run
	// (or agent process) is replaced.
	if err := w.env.runtime.Delete(ctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return runtime.ExitStatus{}, fmt.Errorf("remove the last run: %w", err)
	}
	if err := w.createContainer(ctx, w.extraConfig(c, id, att.NetNSPath), att.IP); err != nil {
		return runtime.ExitStatus{}, err
	}
	// Wait before Start would miss nothing, but there is no task to wait
	// on before Start; an exit in between is kept by containerd.
	if _, err := w.env.runtime.Start(ctx, id); err != nil {
		return runtime.ExitStatus{}, fmt.Errorf("start task: %w", err)
	}
	now := w.env.now().UnixMilli()
	w.setContainer(c.GetName(), func(cs *orchpb.ContainerStatus) {
		cs.SetObserved(orchpb.ContainerRunning)
		cs.StartedAt, cs.Message = now, ""
	})
	exitCh, err := w.env.runtime.Wait(ctx, id)
	if err != nil {
		return runtime.ExitStatus{}, fmt.Errorf("wait: %w", err)
	}
	select {
	case <-ctx.Done():
		return runtime.ExitStatus{}, ctx.Err()
	case <-w.stopCh:
		w.stopAndRemove()
		return runtime.ExitStatus{}, errStopped
	case exit := <-exitCh:
		if exit.Err != nil {
			return exit, fmt.Errorf("wait: %w", exit.Err)
		}
		return exit, nil
	}
}

func (w *replicaWorker) initDone() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.saved.InitDone
}

// setInitDone records how many init containers completed; an agent
// restarted later resumes after them.
func (w *replicaWorker) setInitDone(n int) {
	w.mu.Lock()
	changed := w.saved.InitDone != n
	w.saved.InitDone = n
	w.mu.Unlock()
	if changed {
		w.saveState()
	}
}
