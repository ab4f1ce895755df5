package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/orch-io/orch/agent/runtime"
	orchpb "github.com/orch-io/orch/proto"
)

// containerRef is what the agent found of a replica's container at start.
type containerRef struct {
	taskStatus string
	pid        uint32
}

// maxStartFailures is how many times in a row a replica may fail to start
// (image missing, bad command) before it is reported failed for good, so the
// master can place it elsewhere.
const maxStartFailures = 5

// replicaWorker moves one replica from what it is toward what it should be:
// network, image, container, task; restart on exit per policy; stop and
// remove when told. Restart, adoption and removal share this one path.
type replicaWorker struct {
	a       *Agent
	id      string
	asg     *orchpb.Assignment
	adopted *containerRef
	log     *slog.Logger
	// assignedAt is when the assignment reached the agent, for the start
	// latency in the first "container started" log line.
	assignedAt time.Time
	started    bool

	stopOnce sync.Once
	stopCh   chan struct{}
	done     chan struct{}

	mu sync.Mutex
	st *orchpb.ReplicaStatus
	// persisted across agent restarts
	saved workerState
}

// workerState is what must survive an agent restart for `restarts` to stay
// true.
type workerState struct {
	Restarts  int32  `json:"restarts"`
	StartedAt int64  `json:"startedAt"`
	IP        string `json:"ip"`
	// ExitCode of the last exit, which the masters may not have heard of.
	ExitCode int32 `json:"exitCode,omitempty"`
	// Healthy: the health check passed last time it ran, so an adopted
	// replica stays `running` until checks say otherwise.
	Healthy bool `json:"healthy,omitempty"`
}

func newReplicaWorker(a *Agent, asg *orchpb.Assignment, adopted *containerRef) *replicaWorker {
	id := asg.GetReplica().GetId()
	w := &replicaWorker{
		a:          a,
		id:         id,
		asg:        asg,
		adopted:    adopted,
		log:        a.log.With("replica", asg.GetReplica().DisplayName(), "id", id),
		stopCh:     make(chan struct{}),
		done:       make(chan struct{}),
		assignedAt: time.Now(),
		st:         &orchpb.ReplicaStatus{Id: id, State: string(orchpb.ReplicaStarting)},
	}
	w.loadState()
	w.st.Restarts, w.st.StartedAt, w.st.Ip, w.st.ExitCode = w.saved.Restarts, w.saved.StartedAt, w.saved.IP, w.saved.ExitCode
	return w
}

func (w *replicaWorker) requestStop() { w.stopOnce.Do(func() { close(w.stopCh) }) }

func (w *replicaWorker) stopping() bool {
	select {
	case <-w.stopCh:
		return true
	default:
		return false
	}
}

func (w *replicaWorker) status() *orchpb.ReplicaStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.st
	return &orchpb.ReplicaStatus{Id: s.Id, State: s.State, Ip: s.Ip, Restarts: s.Restarts, ExitCode: s.ExitCode, Message: s.Message, StartedAt: s.StartedAt}
}

// update changes the status under the lock and tells the reporter.
func (w *replicaWorker) update(fn func(st *orchpb.ReplicaStatus)) {
	w.mu.Lock()
	fn(w.st)
	w.saved = workerState{Restarts: w.st.Restarts, StartedAt: w.st.StartedAt, IP: w.st.Ip, ExitCode: w.st.ExitCode, Healthy: w.saved.Healthy}
	w.mu.Unlock()
	w.saveState()
	w.a.nudge()
}

func (w *replicaWorker) statePath() string {
	return filepath.Join(w.a.cfg.DataDir, "replicas", w.id+".json")
}

func (w *replicaWorker) loadState() {
	data, err := os.ReadFile(w.statePath())
	if err != nil {
		return
	}
	_ = json.Unmarshal(data, &w.saved)
}

func (w *replicaWorker) saveState() {
	w.mu.Lock()
	data, _ := json.Marshal(w.saved)
	w.mu.Unlock()
	if err := writeAtomic(w.statePath(), data, 0o600); err != nil {
		w.log.Warn("save replica state", "err", err)
	}
}

// run drives the replica until it is stopped (then it removes everything)
// or ctx ends (agent shutdown: the container is left running for adoption).
func (w *replicaWorker) run(ctx context.Context) {
	defer close(w.done)
	spec := w.asg.GetSpec()
	restart := spec.GetRestart()
	bo := newBackoff(restart.BackoffInitialOrDefault(), restart.BackoffMaxOrDefault())

	running := w.adopted != nil && w.adopted.taskStatus == "running"
	exists := w.adopted != nil
	// An adopted replica that was healthy stays running while its checks
	// resume; any restart starts the checks over.
	resumeHealthy := running && w.saved.Healthy
	w.started = exists
	if running {
		w.log.Info("adopted running container", "pid", w.adopted.pid)
	} else if exists {
		// It exited while no agent watched: that is a restart too.
		w.update(func(st *orchpb.ReplicaStatus) { st.Restarts++ })
	}
	startFailures := 0
	for {
		if !running {
			err := w.prepareAndStart(ctx, exists)
			if err == nil {
				exists, running, startFailures = true, true, 0
			} else {
				if ctx.Err() != nil {
					return
				}
				startFailures++
				exists = !errors.Is(err, errNotCreated)
				w.log.Warn("start failed", "attempt", startFailures, "err", err)
				if startFailures >= maxStartFailures {
					w.update(func(st *orchpb.ReplicaStatus) {
						st.SetObserved(orchpb.ReplicaFailed)
						st.Message = "failed to start: " + err.Error()
					})
					w.waitStopOrShutdown(ctx)
					return
				}
				delay := bo.delay(0)
				w.update(func(st *orchpb.ReplicaStatus) {
					st.SetObserved(orchpb.ReplicaStarting)
					st.Message = fmt.Sprintf("start failed: %v; retrying in %s", err, delay)
				})
				if !w.sleep(ctx, delay) {
					return
				}
				continue
			}
		}
		exitCh, err := w.a.cfg.Runtime.Wait(ctx, w.id)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.log.Warn("cannot wait for the container; starting it again", "err", err)
			running = false
			continue
		}
		if (!w.hasHealthCheck() || resumeHealthy) && w.asgState() != orchpb.ReplicaRunning {
			w.update(func(st *orchpb.ReplicaStatus) { st.SetObserved(orchpb.ReplicaRunning); st.Message = "" })
		}
		exit, killedFor, ok := w.waitExit(ctx, exitCh, resumeHealthy)
		resumeHealthy = false
		if !ok {
			return
		}
		if exit.Err != nil {
			if ctx.Err() != nil {
				return
			}
			w.log.Warn("lost track of the task; checking again", "err", exit.Err)
			if !w.sleep(ctx, time.Second) {
				return
			}
			continue
		}
		running = false
		ranFor := time.Since(time.UnixMilli(w.status().GetStartedAt()))
		reason := fmt.Sprintf("exited %d", exit.Code)
		switch {
		case killedFor != "":
			reason = killedFor
		case exit.OOMKilled:
			reason = "OOM killed"
		}
		failed := exit.Code != 0 || exit.OOMKilled || killedFor != ""
		w.log.Info("container exited", "code", exit.Code, "reason", reason, "ran_for", ranFor.Round(time.Millisecond))
		if !shouldRestart(restart.PolicyOrDefault(), failed) {
			w.update(func(st *orchpb.ReplicaStatus) {
				st.ExitCode, st.Message = int32(exit.Code), reason
				st.SetObserved(orchpb.ReplicaStopped)
				if failed {
					st.SetObserved(orchpb.ReplicaFailed)
				}
			})
			w.waitStopOrShutdown(ctx)
			return
		}
		delay := bo.delay(ranFor)
		w.update(func(st *orchpb.ReplicaStatus) {
			st.ExitCode = int32(exit.Code)
			st.SetObserved(orchpb.ReplicaStarting)
			st.Message = fmt.Sprintf("%s; restarting in %s", reason, delay)
		})
		if !w.sleep(ctx, delay) {
			return
		}
		w.update(func(st *orchpb.ReplicaStatus) { st.Restarts++ })
	}
}

func (w *replicaWorker) asgState() orchpb.ReplicaState {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st.Observed()
}

// shouldRestart: failed is a non-zero exit, an OOM kill or a failed health
// check.
func shouldRestart(policy string, failed bool) bool {
	switch policy {
	case orchpb.RestartNever:
		return false
	case orchpb.RestartOnFailure:
		return failed
	}
	return true
}

// waitExit waits for the task's exit while its health check runs, and
// stops the task when the check finds it unhealthy; killedFor is then the
// reason. ok is false when the worker must return: the agent is shutting
// down, or the replica was stopped (and has been removed).
func (w *replicaWorker) waitExit(ctx context.Context, exitCh <-chan runtime.ExitStatus, resumeHealthy bool) (exit runtime.ExitStatus, killedFor string, ok bool) {
	hw := w.startHealth(ctx, time.UnixMilli(w.status().GetStartedAt()), resumeHealthy)
	defer hw.stop()
	for {
		select {
		case <-ctx.Done():
			return exit, "", false
		case <-w.stopCh:
			hw.stop()
			w.stopAndRemove()
			return exit, "", false
		case res := <-hw.C():
			if reason := w.onHealth(res); reason != "" && killedFor == "" {
				killedFor = reason
				hw.stop()
				w.a.flushReport(ctx)
				// Synchronous: the runtime wants Stop sequenced with the
				// worker's other calls; the exit then arrives on exitCh.
				grace := w.asg.GetSpec().StopGracePeriodOrDefault()
				if err := w.a.cfg.Runtime.Stop(ctx, w.id, grace); err != nil && ctx.Err() == nil {
					w.log.Warn("stop unhealthy container", "err", err)
				}
			}
		case exit = <-exitCh:
			return exit, killedFor, true
		}
	}
}

// sleep waits d; false means stop: either the agent is shutting down or the
// replica was stopped (it has then been removed).
func (w *replicaWorker) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-w.stopCh:
		w.stopAndRemove()
		return false
	case <-t.C:
		return true
	}
}

// waitStopOrShutdown keeps a finished replica (and its logs) until the
// master says to remove it.
func (w *replicaWorker) waitStopOrShutdown(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-w.stopCh:
		w.stopAndRemove()
	}
}

var errNotCreated = errors.New("container not created")

// prepareAndStart sets up the network, the image and the container (unless
// it exists) and starts a task.
func (w *replicaWorker) prepareAndStart(ctx context.Context, exists bool) error {
	rt := w.a.cfg.Runtime
	att, err := w.a.net.Setup(ctx, w.id)
	if err != nil {
		return fmt.Errorf("%w: network: %w", errNotCreated, err)
	}
	if ip := att.IP.String(); ip != w.status().GetIp() {
		w.update(func(st *orchpb.ReplicaStatus) { st.Ip = ip })
	}
	if !exists {
		spec := w.asg.GetSpec()
		if err := rt.EnsureImage(ctx, spec.GetImage()); err != nil {
			return fmt.Errorf("%w: image %s: %w", errNotCreated, spec.GetImage(), err)
		}
		rep := w.asg.GetReplica()
		cfg := runtime.ContainerConfig{
			ID:          w.id,
			Image:       spec.GetImage(),
			Command:     spec.GetCommand(),
			Args:        spec.GetArgs(),
			Env:         spec.GetEnv(),
			CPUMillis:   rep.GetResources().GetCpuMillis(),
			MemoryBytes: rep.GetResources().GetMemoryBytes(),
			NetNSPath:   att.NetNSPath,
			Hostname:    rep.DisplayName(),
			LogPath:     w.a.logPath(w.id),
			Labels: map[string]string{
				labelReplica:   w.id,
				labelService:   rep.GetService(),
				labelNamespace: rep.GetNamespace(),
			},
		}
		if err := os.MkdirAll(filepath.Dir(cfg.LogPath), 0o700); err != nil {
			return fmt.Errorf("%w: log dir: %w", errNotCreated, err)
		}
		if cfg.Mounts, err = w.a.replicaMounts(rep, att.IP); err != nil {
			return fmt.Errorf("%w: resolv.conf and hosts: %w", errNotCreated, err)
		}
		err := rt.Create(ctx, cfg)
		if errors.Is(err, runtime.ErrAlreadyExists) {
			// Left by a run that died between create and start: start over.
			if derr := rt.Delete(ctx, w.id); derr != nil {
				return fmt.Errorf("%w: replace old container: %w", errNotCreated, derr)
			}
			err = rt.Create(ctx, cfg)
		}
		if err != nil {
			return fmt.Errorf("%w: %w", errNotCreated, err)
		}
	}
	pid, err := rt.Start(ctx, w.id)
	if err != nil {
		return fmt.Errorf("start task: %w", err)
	}
	now := time.Now().UnixMilli()
	checked := w.hasHealthCheck()
	if checked {
		w.setHealthy(false)
	}
	w.update(func(st *orchpb.ReplicaStatus) {
		st.SetObserved(orchpb.ReplicaRunning)
		st.StartedAt, st.Message = now, ""
		if checked {
			// Running means healthy: discovery and rollouts count on it.
			st.SetObserved(orchpb.ReplicaStarting)
			st.Message = "waiting for the first health check"
		}
	})
	if !w.started {
		w.started = true
		w.log.Info("container started", "pid", pid, "ip", att.IP, "since_assigned", time.Since(w.assignedAt).Round(time.Microsecond))
	} else {
		w.log.Info("container started", "pid", pid, "ip", att.IP)
	}
	return nil
}

// stopAndRemove stops the task within the grace period and removes the
// container, its snapshot, its network namespace and its saved state.
func (w *replicaWorker) stopAndRemove() {
	// The agent may be shutting down too; removal must still finish.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	grace := w.asg.GetSpec().StopGracePeriodOrDefault()
	rt := w.a.cfg.Runtime
	if err := rt.Stop(ctx, w.id, grace); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		w.log.Warn("stop", "err", err)
	}
	if err := rt.Delete(ctx, w.id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		w.log.Warn("delete container", "err", err)
	}
	if err := w.a.net.Teardown(ctx, w.id); err != nil {
		w.log.Warn("remove network", "err", err)
	}
	w.update(func(st *orchpb.ReplicaStatus) {
		// A finished replica keeps its verdict (exit code, reason) to the end.
		if st.Observed() != orchpb.ReplicaFailed && st.Observed() != orchpb.ReplicaStopped {
			st.SetObserved(orchpb.ReplicaStopped)
			st.Message = "stopped"
		}
	})
	_ = os.Remove(w.statePath())
	_ = os.RemoveAll(w.a.replicaEtcDir(w.id))
	if err := w.a.logs.Remove(w.id); err != nil {
		w.log.Warn("remove output", "err", err)
	}
	w.log.Info("replica stopped and removed")
}
