package agent

import (
	"context"
	"time"

	"github.com/orch-io/orch/agent/runtime"
	orchpb "github.com/orch-io/orch/proto"
)

// strayCheckInterval is how often the agent looks for containers in its
// namespace that no assignment explains.
const strayCheckInterval = 5 * time.Second

// runReporter sends the status of every replica: at once when something
// changed, else every heartbeat interval (the report is the heartbeat).
func (a *Agent) runReporter(ctx context.Context) {
	tick := time.NewTicker(a.cfg.HeartbeatInterval)
	defer tick.Stop()
	strays := time.NewTicker(strayCheckInterval)
	defer strays.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.reportNow:
			// Let a burst of changes (a whole set starting) share a report.
			time.Sleep(5 * time.Millisecond)
		case <-tick.C:
		case <-strays.C:
			a.removeStrays(ctx)
			continue
		}
		a.report(ctx)
	}
}

func (a *Agent) report(ctx context.Context) {
	a.mu.Lock()
	report := &orchpb.StatusReport{NodeId: a.id.NodeID}
	for _, w := range a.workers {
		report.Statuses = append(report.Statuses, w.status())
	}
	sentFinished := make([]string, 0, len(a.finished))
	for id, st := range a.finished {
		report.Statuses = append(report.Statuses, st)
		sentFinished = append(sentFinished, id)
	}
	a.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.conn.reportStatus(rctx, report); err != nil {
		if ctx.Err() == nil {
			a.log.Debug("status report failed", "err", err)
		}
		return
	}
	a.mu.Lock()
	for _, id := range sentFinished {
		delete(a.finished, id)
	}
	a.mu.Unlock()
}

// removeStrays deletes containers in the agent's namespace that no worker
// owns: leftovers of replicas removed while the agent was down, or
// containers someone started by hand. It only runs once the agent knows its
// assignments, so a restart cut off from the masters removes nothing.
func (a *Agent) removeStrays(ctx context.Context) {
	a.mu.Lock()
	ready := a.haveSet
	a.mu.Unlock()
	if !ready {
		return
	}
	infos, err := a.cfg.Runtime.List(ctx)
	if err != nil {
		a.log.Warn("list containers", "err", err)
		return
	}
	var strays []runtime.ContainerInfo
	a.mu.Lock()
	for _, info := range infos {
		if _, ok := a.workers[info.ID]; !ok {
			strays = append(strays, info)
		}
		delete(a.adopted, info.ID)
	}
	a.mu.Unlock()
	for _, s := range strays {
		a.log.Info("removing a container no assignment explains", "container", s.ID)
		if err := a.cfg.Runtime.Delete(ctx, s.ID); err != nil {
			a.log.Warn("remove stray container", "container", s.ID, "err", err)
		}
	}
	for _, id := range a.net.Attached() {
		// A worker registers itself before it sets up its network, so
		// checking the map now cannot race with a replica being born.
		a.mu.Lock()
		_, owned := a.workers[id]
		a.mu.Unlock()
		if !owned {
			if err := a.net.Teardown(ctx, id); err != nil {
				a.log.Warn("remove stray network namespace", "replica", id, "err", err)
			}
		}
	}
}
