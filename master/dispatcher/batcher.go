package dispatcher

import (
	"context"
	"sync"
	"time"

	"github.com/orch-io/orch/master/endpoint"

	orchpb "github.com/orch-io/orch/proto"
)

// maxBatchReports bounds one batch entry (a few MB at most).
const maxBatchReports = 2048

// batchTimeout bounds one batch's commit; agents retry on their next beat.
const batchTimeout = 30 * time.Second

// statusBatcher is group commit for status reports: the reports that
// arrive while one Raft entry is being committed go together in the next.
// At rest it adds no delay (a lone report is proposed at once); under load
// thousands of nodes' reports cost a handful of entries.
type statusBatcher struct {
	proposer endpoint.Proposer

	mu      sync.Mutex
	pending []*orchpb.ReportReplicaStatus
	waiters []chan error
	running bool
}

// submit proposes report (in some batch) and returns once it is applied,
// or ctx ends.
func (b *statusBatcher) submit(ctx context.Context, report *orchpb.ReportReplicaStatus) error {
	done := make(chan error, 1)
	b.mu.Lock()
	b.pending = append(b.pending, report)
	b.waiters = append(b.waiters, done)
	if !b.running {
		b.running = true
		go b.flush()
	}
	b.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush proposes what is pending, one batch after another, until nothing is.
func (b *statusBatcher) flush() {
	for {
		b.mu.Lock()
		n := min(len(b.pending), maxBatchReports)
		if n == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		batch, waiters := b.pending[:n:n], b.waiters[:n:n]
		b.pending, b.waiters = b.pending[n:], b.waiters[n:]
		b.mu.Unlock()
		var cmd *orchpb.Command
		if len(batch) == 1 {
			cmd = &orchpb.Command{Op: &orchpb.Command_ReportReplicaStatus{ReportReplicaStatus: batch[0]}}
		} else {
			cmd = &orchpb.Command{Op: &orchpb.Command_ReportReplicaStatusBatch{ReportReplicaStatusBatch: &orchpb.ReportReplicaStatusBatch{Reports: batch}}}
		}
		// Not the request's context: the batch carries other agents' news.
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		_, err := b.proposer.Apply(ctx, cmd)
		cancel()
		for _, w := range waiters {
			w <- err
		}
	}
}
