package agent

import (
	"context"
	"log/slog"
	"time"

	orchpb "github.com/orch-io/orch/proto"
)

// reporter sends the status of every replica to the masters: at once when
// something changed, else every heartbeat interval (a report with nothing
// new is the heartbeat, unless the assignment stream carries heartbeats:
// then it is not sent at all). It is the workers' statusReporter.
type reporter struct {
	conn      *masterConn
	nodeID    string
	replicas  *replicaSet
	heartbeat time.Duration
	log       *slog.Logger
	now       chan struct{}
	// volumeUsage, when set, gives the last measured volume sizes.
	volumeUsage func() []*orchpb.VolumeSize
}

func newReporter(conn *masterConn, nodeID string, replicas *replicaSet, heartbeat time.Duration, log *slog.Logger) *reporter {
	return &reporter{conn: conn, nodeID: nodeID, replicas: replicas, heartbeat: heartbeat, log: log, now: make(chan struct{}, 1)}
}

// run reports until ctx ends. It does nothing else, so that a busy node
// still beats.
func (r *reporter) run(ctx context.Context) {
	tick := time.NewTicker(r.heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.now:
			// Let a burst of changes (a whole set starting) share a report.
			time.Sleep(5 * time.Millisecond)
		case <-tick.C:
		}
		r.send(ctx)
	}
}

func (r *reporter) changed() {
	select {
	case r.now <- struct{}{}:
	default:
	}
}

func (r *reporter) flush(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	r.send(ctx)
}

func (r *reporter) send(ctx context.Context) {
	statuses, finished := r.replicas.statuses()
	report := &orchpb.StatusReport{NodeId: r.nodeID, Statuses: statuses}
	if r.volumeUsage != nil {
		report.VolumeUsage = r.volumeUsage()
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := r.conn.reportStatus(rctx, report); err != nil {
		if ctx.Err() == nil {
			r.log.Debug("status report failed", "err", err)
		}
		return
	}
	r.replicas.reported(finished)
}
