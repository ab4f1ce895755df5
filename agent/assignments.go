package agent

import (
	"context"
	"time"

	orchpb "github.com/orch-io/orch/proto"
)

// runAssignments follows the masters' assignment stream, moving to another
// master when one fails, until ctx ends. Replicas keep running meanwhile.
func (a *Agent) runAssignments(ctx context.Context) {
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := a.conn.watchAssignments(ctx, a.id.NodeID, true, func(set *orchpb.AssignmentSet) {
			if err := a.saveAssignments(set); err != nil {
				a.log.Warn("could not save assignments; a restart without masters would not know them", "err", err)
			}
			a.apply(ctx, set)
		})
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > 10*time.Second {
			delay = 100 * time.Millisecond
		}
		a.log.Warn("assignment stream broken; replicas keep running", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 3*time.Second)
	}
}

// apply makes the running workers match the set: new assignments get a
// worker, workers whose replica left the set are stopped.
func (a *Agent) apply(ctx context.Context, set *orchpb.AssignmentSet) {
	a.applyNetwork(set)
	want := make(map[string]*orchpb.Assignment, len(set.GetAssignments()))
	for _, asg := range set.GetAssignments() {
		if asg.GetReplica().GetDesiredState() == orchpb.DesiredRunning {
			want[asg.GetReplica().GetId()] = asg
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.haveSet = true
	for id, w := range a.workers {
		if _, ok := want[id]; !ok {
			w.requestStop()
		}
	}
	for id, asg := range want {
		if w, ok := a.workers[id]; ok && !w.stopping() {
			continue
		}
		if w, ok := a.workers[id]; ok {
			// A replica re-assigned while it was being stopped: let the
			// stop finish; the next set starts it again.
			_ = w
			continue
		}
		var adopted *containerRef
		if info, ok := a.adopted[id]; ok {
			adopted = &containerRef{taskStatus: info.TaskStatus, pid: info.PID}
			delete(a.adopted, id)
		}
		w := newReplicaWorker(a, asg, adopted)
		a.workers[id] = w
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			w.run(ctx)
			a.workerDone(w)
		}()
	}
}

// workerDone forgets a finished worker; a stopped replica's last status is
// kept until a report carries it to the master.
func (a *Agent) workerDone(w *replicaWorker) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.workers[w.id] == w {
		delete(a.workers, w.id)
	}
	if w.stopping() {
		a.finished[w.id] = w.status()
	}
	a.nudge()
}

// nudge asks the reporter to send now.
func (a *Agent) nudge() {
	select {
	case a.reportNow <- struct{}{}:
	default:
	}
}
