package agent

import (
	"context"
	"io"
	"time"

	"github.com/orch-io/orch/agent/health"
	"github.com/orch-io/orch/agent/runtime"
	orchpb "github.com/orch-io/orch/proto"
)

// healthWatch runs a replica's health check while its task runs. A nil
// *healthWatch (no check) is valid: its channel never yields.
type healthWatch struct {
	results chan health.Result
	cancel  context.CancelFunc
	done    chan struct{}
}

// hasHealthCheck: the replica's spec asks for one, so it is `running` only
// once a check has passed.
func (w *replicaWorker) hasHealthCheck() bool {
	h := w.asg.GetSpec().GetHealth()
	return h.GetHttp() != nil || h.GetTcp() != nil || h.GetExec() != nil
}

// startHealth starts the check for the task that started at startedAt;
// healthy says the replica was healthy when an earlier agent process last
// looked (adoption), so it stays `running` unless checks fail now.
func (w *replicaWorker) startHealth(ctx context.Context, startedAt time.Time, healthy bool) *healthWatch {
	var execFn health.ExecFunc
	if ex, ok := w.env.runtime.(runtime.Execer); ok {
		execFn = func(ctx context.Context, args []string, out io.Writer) (int, error) {
			return ex.Exec(ctx, w.id, runtime.ExecConfig{Args: args, Stdout: out, Stderr: out})
		}
	}
	spec, ok, err := health.FromProto(w.asg.GetSpec().GetHealth(), w.status().GetIp(), execFn)
	if err != nil {
		// Waiting for a check that can never pass would leave the replica
		// starting for ever; say why it runs unchecked instead.
		w.log.Warn("health check cannot run", "err", err)
		w.update(func(st *orchpb.ReplicaStatus) {
			st.SetObserved(orchpb.ReplicaRunning)
			st.Message = "health check not run: " + err.Error()
		})
		return nil
	}
	if !ok {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	hw := &healthWatch{results: make(chan health.Result, 1), cancel: cancel, done: make(chan struct{})}
	initial := health.Starting
	if healthy {
		initial = health.Healthy
	}
	go func() {
		defer close(hw.done)
		health.Run(ctx, spec, startedAt, initial, func(r health.Result) {
			select {
			case hw.results <- r:
			case <-ctx.Done():
			}
		})
	}()
	return hw
}

func (hw *healthWatch) C() <-chan health.Result {
	if hw == nil {
		return nil
	}
	return hw.results
}

func (hw *healthWatch) stop() {
	if hw == nil {
		return
	}
	hw.cancel()
	<-hw.done
}

// onHealth records a change of the check's verdict. It returns the reason
// to stop the task for (empty: keep it).
func (w *replicaWorker) onHealth(res health.Result) string {
	switch res.State {
	case health.Healthy:
		w.log.Info("healthy")
		healthTransitions.WithLabelValues("healthy").Inc()
		w.setHealthy(true)
		w.update(func(st *orchpb.ReplicaStatus) {
			st.SetObserved(orchpb.ReplicaRunning)
			st.Message = ""
		})
	case health.Unhealthy:
		reason := "health check failed: " + res.Message
		w.log.Warn("unhealthy", "reason", res.Message, "failures", res.Failures)
		healthTransitions.WithLabelValues("unhealthy").Inc()
		w.setHealthy(false)
		w.update(func(st *orchpb.ReplicaStatus) {
			st.SetObserved(orchpb.ReplicaUnhealthy)
			st.Message = reason
		})
		return reason
	}
	return ""
}

// setHealthy records the check's verdict for adoption; the update that
// follows it saves both in one write.
func (w *replicaWorker) setHealthy(ok bool) {
	w.mu.Lock()
	w.saved.Healthy = ok
	w.mu.Unlock()
}
