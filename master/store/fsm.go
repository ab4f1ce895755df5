package store

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/hashicorp/raft"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// FSM feeds committed Raft log entries into a Store and serialises it for
// Raft snapshots. Threading (raft's rules): Apply, ApplyBatch, Snapshot and
// Restore are never called concurrently with one another; a snapshot's
// Persist runs concurrently with later applies, which is safe because the
// store never mutates the objects a Snapshot holds.
type FSM struct {
	store  *Store
	logger *slog.Logger
}

var (
	_ raft.FSM         = (*FSM)(nil)
	_ raft.BatchingFSM = (*FSM)(nil)
)

// NewFSM returns the FSM over s. logger may be nil.
func NewFSM(s *Store, logger *slog.Logger) *FSM {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &FSM{store: s, logger: logger}
}

// Store returns the store the FSM applies to.
func (f *FSM) Store() *Store { return f.store }

// Apply applies one log entry and returns its *orchpb.CommandResult (nil
// for entries that are not commands).
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	cmd := &orchpb.Command{}
	if err := proto.Unmarshal(l.Data, cmd); err != nil {
		// Still applied (as an invalid command) so that the store's index
		// follows the log on every master alike.
		f.logger.Error("undecodable raft command", "index", l.Index, "error", err)
		res := f.store.Apply(l.Index, nil)
		res.Error = fmt.Sprintf("decode command at index %d: %v", l.Index, err)
		return res
	}
	res := f.store.ApplyAt(l.Index, l.AppendedAt, cmd)
	if res.ErrorCode == orchpb.ResultInvalid {
		f.logger.Debug("raft command refused", "index", l.Index, "error", res.Error)
	}
	return res
}

// ApplyBatch applies a batch of committed entries in order.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	for i, l := range logs {
		out[i] = f.Apply(l)
	}
	return out
}

// Snapshot captures the state at the current index; raft persists it later.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{snap: f.store.Snapshot()}, nil
}

// Restore replaces the store's state with a snapshot written by Persist.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("read state snapshot: %w", err)
	}
	snap := &orchpb.StateSnapshot{}
	if err := proto.Unmarshal(data, snap); err != nil {
		return fmt.Errorf("decode state snapshot (%d bytes): %w", len(data), err)
	}
	f.store.Restore(snap)
	f.logger.Info("restored state snapshot", "index", snap.Index, "services", len(snap.Services),
		"replicas", len(snap.Replicas), "nodes", len(snap.Nodes))
	return nil
}

type fsmSnapshot struct{ snap *orchpb.StateSnapshot }

// Persist writes the binary StateSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(s.snap)
	if err == nil {
		_, err = sink.Write(data)
	}
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist state snapshot at index %d: %w", s.snap.Index, err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
