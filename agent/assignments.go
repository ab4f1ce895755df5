package agent

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/orch-io/orch/internal/backoff"

	orchpb "github.com/orch-io/orch/proto"
)

// runAssignments follows the masters' assignment stream, moving to another
// master when one fails, until ctx ends. Replicas keep running meanwhile.
func (a *Agent) runAssignments(ctx context.Context, nodeID string) {
	var saved *orchpb.AssignmentSet
	followStream(ctx, a.log, "assignment stream broken; replicas keep running", func() error {
		return a.conn.watchAssignments(ctx, nodeID, true, func(set *orchpb.AssignmentSet) {
			// Each keepalive hands the unchanged set again: only a change
			// is worth a synced write and an overlay resync. Workers are matched to every set, though: a
			// replica assigned again while it was being stopped starts on
			// a later one.
			if saved == nil || !sameAssignments(saved, set) {
				a.applyNetwork(set)
				if err := a.dir.saveAssignments(set); err != nil {
					a.log.Warn("could not save assignments; a restart without masters would not know them", "err", err)
				} else {
					saved = set
				}
			}
			a.replicas.apply(ctx, set)
			a.volumes.setListed(set)
		})
	})
}

// sameAssignments: a and b assign the same replicas, specs and peers; the
// store index they were read at does not matter.
func sameAssignments(a, b *orchpb.AssignmentSet) bool {
	return a.GetNodeId() == b.GetNodeId() &&
		slices.EqualFunc(a.GetAssignments(), b.GetAssignments(), equalMessages[*orchpb.Assignment]) &&
		slices.EqualFunc(a.GetPeers(), b.GetPeers(), equalMessages[*orchpb.Node]) &&
		a.GetVolumesListed() == b.GetVolumesListed() &&
		slices.EqualFunc(a.GetVolumes(), b.GetVolumes(), equalMessages[*orchpb.Volume])
}

// equalMessages is proto.Equal, answered at once for the same message: a
// set assembled from deltas keeps the messages that did not change, and
// comparing each one's whole spec field by field was most of the cost.
func equalMessages[M proto.Message](x, y M) bool {
	return proto.Message(x) == proto.Message(y) || proto.Equal(x, y)
}

// followStream runs watch, one stream from a master, again whenever it
// breaks (logging broken), until ctx ends. The retry delay doubles from
// 100ms up to 3s and starts over after a stream that lasted 10s; each is
// jittered (up to twice as long), so that the thousands of nodes one
// master's failure cuts off do not come back in step.
func followStream(ctx context.Context, log *slog.Logger, broken string, watch func() error) {
	bo := backoff.New(100*time.Millisecond, 3*time.Second, backoff.WithResetAfter(10*time.Second), backoff.WithJitter())
	for ctx.Err() == nil {
		start := time.Now()
		err := watch()
		if ctx.Err() != nil {
			return
		}
		delay := bo.NextAfter(time.Since(start))
		log.Warn(broken, "err", err, "retry_in", delay)
		if bo.Sleep(ctx, delay) != nil {
			return
		}
	}
}
