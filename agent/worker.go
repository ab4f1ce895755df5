package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/internal/backoff"
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
//
// Threading: run and everything it calls (the steps, update, the health
// callbacks) belong to the worker's own goroutine; status, requestStop and
// stopping may be called from any goroutine.
type replicaWorker struct {
	env     *workerEnv
	id      string
	asg     *orchpb.Assignment
	adopted *containerRef
	log     *slog.Logger
	// assignedAt is when the assignment reached the agent, for the start
	// latency in the first "container started" log line.
	assignedAt time.Time
	started    bool
	backoff    *backoff.Backoff
	// sidecars run beside the main container once init is done.
	sidecars sidecarSet

	stopOnce sync.Once
	stopCh   chan struct{}
	done     chan struct{}

	mu sync.Mutex
	st *orchpb.ReplicaStatus
	// secretData are the latest values of the secrets and configs the
	// spec uses: a worker started from the saved set (which has none)
	// gets them with the masters' next set.
	secretData []*orchpb.SecretData
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
	// InitDone counts the init containers that completed, in order.
	InitDone int `json:"initDone,omitempty"`
	// Containers are the sidecars' and init containers' statuses.
	Containers []savedContainer `json:"containers,omitempty"`
	// Ended is the final state of a replica that runs once (restart
	// policy never), with its message: see runends.go.
	Ended      string `json:"ended,omitempty"`
	EndMessage string `json:"endMessage,omitempty"`
}

func newReplicaWorker(env *workerEnv, asg *orchpb.Assignment, adopted *containerRef, adoptedExtra map[string]*containerRef) *replicaWorker {
	id := asg.GetReplica().GetId()
	w := &replicaWorker{
		env:        env,
		id:         id,
		asg:        asg,
		adopted:    adopted,
		log:        env.log.With("replica", asg.GetReplica().DisplayName(), "id", id),
		stopCh:     make(chan struct{}),
		done:       make(chan struct{}),
		assignedAt: env.now(),
		st:         &orchpb.ReplicaStatus{Id: id, State: string(orchpb.ReplicaStarting)},
	}
	w.secretData = asg.GetSecretData()
	w.loadState()
	w.st.Restarts, w.st.StartedAt, w.st.Ip, w.st.ExitCode = w.saved.Restarts, w.saved.StartedAt, w.saved.IP, w.saved.ExitCode
	w.st.Containers = initialContainers(asg.GetSpec(), w.saved.Containers)
	w.sidecars.adopted = adoptedExtra
	return w
}

// setSecretData keeps the values of a newer set that lists this replica.
func (w *replicaWorker) setSecretData(d []*orchpb.SecretData) {
	if len(d) == 0 {
		return
	}
	w.mu.Lock()
	w.secretData = d
	w.mu.Unlock()
}

// assignment is the replica's assignment with the latest secret values.
func (w *replicaWorker) assignment() *orchpb.Assignment {
	w.mu.Lock()
	defer w.mu.Unlock()
	return &orchpb.Assignment{Replica: w.asg.GetReplica(), Spec: w.asg.GetSpec(), SecretData: w.secretData, Volumes: w.asg.GetVolumes()}
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
	return &orchpb.ReplicaStatus{Id: s.Id, State: s.State, Ip: s.Ip, Restarts: s.Restarts, ExitCode: s.ExitCode, Message: s.Message, StartedAt: s.StartedAt,
		Containers: cloneContainers(s.Containers)}
}

// update changes the status under the lock and tells the reporter.
func (w *replicaWorker) update(fn func(st *orchpb.ReplicaStatus)) {
	w.mu.Lock()
	fn(w.st)
	w.saved = workerState{Restarts: w.st.Restarts, StartedAt: w.st.StartedAt, IP: w.st.Ip, ExitCode: w.st.ExitCode, Healthy: w.saved.Healthy,
		InitDone: w.saved.InitDone, Containers: saveContainers(w.st.Containers)}
	if ended := w.endedState(w.st); ended != "" {
		w.saved.Ended, w.saved.EndMessage = ended, w.st.Message
	}
	w.mu.Unlock()
	w.saveState()
	w.env.report.changed()
}

func (w *replicaWorker) loadState() {
	data, err := os.ReadFile(w.env.files.statePath(w.id))
	if err != nil {
		return
	}
	_ = json.Unmarshal(data, &w.saved)
}

func (w *replicaWorker) saveState() {
	w.mu.Lock()
	data, _ := json.Marshal(w.saved)
	w.mu.Unlock()
	if err := writeAtomic(w.env.files.statePath(w.id), data, 0o600); err != nil {
		w.log.Warn("save replica state", "err", err)
	}
}

// observed is what the worker knows of its container between steps.
type observed struct {
	exists, running bool
	// resumeHealthy: an adopted replica that was healthy stays running
	// while its checks resume; any restart starts the checks over.
	resumeHealthy bool
	startFailures int
}

// run drives the replica until it is stopped (then it removes everything)
// or ctx ends (agent shutdown: the container is left running for adoption).
func (w *replicaWorker) run(ctx context.Context) {
	defer close(w.done)
	restart := w.asg.GetSpec().GetRestart()
	w.backoff = restartBackoff(restart.BackoffInitialOrDefault(), restart.BackoffMaxOrDefault())
	if w.resumeEnded() {
		w.waitStopOrShutdown(ctx)
		return
	}
	o := w.observeAdopted()
	defer w.sidecars.wait()
	if !w.runInit(ctx, o.exists) {
		return
	}
	w.startSidecars(ctx)
	for w.step(ctx, &o) {
	}
}

// observeAdopted is where the worker starts from: the container an earlier
// agent process left, if any.
func (w *replicaWorker) observeAdopted() observed {
	o := observed{
		exists:  w.adopted != nil,
		running: w.adopted != nil && w.adopted.taskStatus == "running",
	}
	o.resumeHealthy = o.running && w.saved.Healthy
	w.started = o.exists
	switch {
	case o.running:
		w.log.Info("adopted running container", "pid", w.adopted.pid)
	case o.exists && w.runsOnce() && w.adopted.taskStatus == "stopped":
		// A run that exited while no agent watched: waiting on its task
		// gives the exit status at once, and it ends as it exited.
		o.running = true
		w.log.Info("adopted exited container of a replica that runs once")
	case o.exists:
		// It exited while no agent watched: that is a restart too.
		w.update(func(st *orchpb.ReplicaStatus) { st.Restarts++ })
		countRestart("main")
	case w.ranBefore():
		// Its container is gone (removed by `orchd dev --cleanup`, by hand,
		// or with containerd's state): the one about to be created is a
		// restart like any other, counted and reported (an event).
		w.log.Info("container gone; creating it again", "restarts", w.saved.Restarts+1)
		w.update(func(st *orchpb.ReplicaStatus) {
			st.Restarts++
			st.Message = "container was gone; created again"
		})
		countRestart("main")
	}
	return o
}

// ranBefore: this replica's container has been started before, by this
// agent (its saved state) or by an earlier one (what the master last
// heard, which survives a wiped data dir).
func (w *replicaWorker) ranBefore() bool {
	return w.saved.StartedAt != 0 || w.asg.GetStarted()
}

// step moves the replica one step toward running: it starts a container
// that does not run, or watches one that does until it exits. It returns
// false when the worker is done: the agent is shutting down, or the
// replica was removed.
func (w *replicaWorker) step(ctx context.Context, o *observed) bool {
	if !o.running {
		return w.start(ctx, o)
	}
	return w.watch(ctx, o)
}

// start makes and starts the container. A failure waits out the backoff;
// maxStartFailures in a row fail the replica for good.
func (w *replicaWorker) start(ctx context.Context, o *observed) bool {
	err := w.prepareAndStart(ctx, o.exists)
	if err == nil {
		o.exists, o.running, o.startFailures = true, true, 0
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	o.startFailures++
	o.exists = !errors.Is(err, errNotCreated)
	w.log.Warn("start failed", "attempt", o.startFailures, "err", err)
	if o.startFailures >= maxStartFailures {
		w.stopSidecars(ctx)
		w.update(func(st *orchpb.ReplicaStatus) {
			st.SetObserved(orchpb.ReplicaFailed)
			st.Message = "failed to start: " + err.Error()
		})
		w.waitStopOrShutdown(ctx)
		return false
	}
	delay := w.backoff.Next()
	w.update(func(st *orchpb.ReplicaStatus) {
		st.SetObserved(orchpb.ReplicaStarting)
		st.Message = fmt.Sprintf("start failed: %v; retrying in %s", err, delay)
	})
	return w.sleep(ctx, delay)
}

// watch follows the running task, with its health check, until it exits.
func (w *replicaWorker) watch(ctx context.Context, o *observed) bool {
	exitCh, err := w.env.runtime.Wait(ctx, w.id)
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		w.log.Warn("cannot wait for the container; starting it again", "err", err)
		o.running = false
		return true
	}
	if (!w.hasHealthCheck() || o.resumeHealthy) && w.asgState() != orchpb.ReplicaRunning {
		w.update(func(st *orchpb.ReplicaStatus) { st.SetObserved(orchpb.ReplicaRunning); st.Message = "" })
	}
	exit, killedFor, ok := w.waitExit(ctx, exitCh, o.resumeHealthy)
	o.resumeHealthy = false
	if !ok {
		return false
	}
	if exit.Err != nil {
		if ctx.Err() != nil {
			return false
		}
		w.log.Warn("lost track of the task; checking again", "err", exit.Err)
		return w.sleep(ctx, time.Second)
	}
	o.running = false
	return w.exited(ctx, exit, killedFor)
}

// exited records how the task ended, then, as the restart policy says,
// waits out the backoff before the next start, or keeps the finished
// replica until it is removed.
func (w *replicaWorker) exited(ctx context.Context, exit runtime.ExitStatus, killedFor string) bool {
	ranFor := w.env.now().Sub(time.UnixMilli(w.status().GetStartedAt()))
	reason := fmt.Sprintf("exited %d", exit.Code)
	switch {
	case killedFor != "":
		reason = killedFor
	case exit.OOMKilled:
		reason = "OOM killed"
	}
	failed := exit.Code != 0 || exit.OOMKilled || killedFor != ""
	w.log.Info("container exited", "code", exit.Code, "reason", reason, "ran_for", ranFor.Round(time.Millisecond))
	if !shouldRestart(w.asg.GetSpec().GetRestart().GetPolicy(), failed) {
		// The replica is finished: its sidecars end with it.
		w.stopSidecars(ctx)
		w.update(func(st *orchpb.ReplicaStatus) {
			st.ExitCode, st.Message = int32(exit.Code), reason
			st.SetObserved(orchpb.ReplicaStopped)
			if failed {
				st.SetObserved(orchpb.ReplicaFailed)
			}
		})
		w.waitStopOrShutdown(ctx)
		return false
	}
	delay := w.backoff.NextAfter(ranFor)
	w.update(func(st *orchpb.ReplicaStatus) {
		st.ExitCode = int32(exit.Code)
		st.SetObserved(orchpb.ReplicaStarting)
		st.Message = fmt.Sprintf("%s; restarting in %s", reason, delay)
	})
	if !w.sleep(ctx, delay) {
		return false
	}
	w.update(func(st *orchpb.ReplicaStatus) { st.Restarts++ })
	countRestart("main")
	return true
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
				w.env.report.flush(ctx)
				// Synchronous: the runtime wants Stop sequenced with the
				// worker's other calls; the exit then arrives on exitCh.
				grace := w.asg.GetSpec().StopGracePeriodOrDefault()
				if err := w.env.runtime.Stop(ctx, w.id, grace); err != nil && ctx.Err() == nil {
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
