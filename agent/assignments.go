package agent

import (
	"context"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	orchpb "github.com/orch-io/orch/proto"
)

// runAssignments follows the masters' assignment stream, moving to another
// master when one fails, until ctx ends. Replicas keep running meanwhile.
func (a *Agent) runAssignments(ctx context.Context) {
	var saved *orchpb.AssignmentSet
	a.followStream(ctx, "assignment stream broken; replicas keep running", func() error {
		return a.conn.watchAssignments(ctx, a.id.NodeID, true, func(set *orchpb.AssignmentSet) {
			// The master resends an unchanged set every few seconds as its
			// keepalive: only a change is worth a synced write and an
			// overlay resync. Workers are matched to every set, though: a
			// replica assigned again while it was being stopped starts on
			// a later one.
			if saved == nil || !sameAssignments(saved, set) {
				a.applyNetwork(set)
				if err := a.saveAssignments(set); err != nil {
					a.log.Warn("could not save assignments; a restart without masters would not know them", "err", err)
				} else {
					saved = set
				}
			}
			a.apply(ctx, set)
		})
	})
}

// sameAssignments: a and b assign the same replicas, specs and peers; the
// store index they were read at does not matter.
func sameAssignments(a, b *orchpb.AssignmentSet) bool {
	return a.GetNodeId() == b.GetNodeId() &&
		slices.EqualFunc(a.GetAssignments(), b.GetAssignments(), func(x, y *orchpb.Assignment) bool { return proto.Equal(x, y) }) &&
		slices.EqualFunc(a.GetPeers(), b.GetPeers(), func(x, y *orchpb.Node) bool { return proto.Equal(x, y) })
}

// followStream runs watch, one stream from a master, again whenever it
// breaks (logging broken), until ctx ends. The retry delay doubles up to
// 3s and starts over after a stream that lasted.
func (a *Agent) followStream(ctx context.Context, broken string, watch func() error) {
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := watch()
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > 10*time.Second {
			delay = 100 * time.Millisecond
		}
		a.log.Warn(broken, "err", err, "retry_in", delay)
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
	want := make(map[string]*orchpb.Assignment, len(set.GetAssignments()))
	for _, asg := range set.GetAssignments() {
		if asg.GetReplica().Desired() == orchpb.DesiredRunning {
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
		if _, ok := a.workers[id]; ok {
			// Running, or re-assigned while it was being stopped: then
			// the stop finishes and a later set starts it again.
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
