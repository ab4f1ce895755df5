package raftnode

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// ErrExistingState is returned by Seed when the data directory already holds
// Raft state: a restore must never overwrite a live cluster's log.
var ErrExistingState = errors.New("raftnode: data directory already holds Raft state")

// Seed prepares an empty data directory so that Open starts a new cluster of
// one voter (nodeID at addr) whose state is fsmSnapshot, the bytes an
// FSMSnapshot persists, taken at log index index. It is disaster recovery
// (`orchd master restore`): the state comes back, the old members do not.
//
// It writes a Raft snapshot whose configuration names only this master, and
// term 1 in the stable store; Open then restores the FSM from it and the
// master elects itself.
func Seed(dataDir, nodeID, addr string, index uint64, fsmSnapshot []byte, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	if index == 0 {
		index = 1
	}
	dir := filepath.Join(dataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("raftnode: create %s: %w", dir, err)
	}
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db"), BoltOptions: &bbolt.Options{Timeout: 2 * time.Second}})
	if err != nil {
		return fmt.Errorf("raftnode: open %s: %w", dir, err)
	}
	defer bolt.Close()
	hclogger := newHCLogger(logger, "raft")
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, hclogger)
	if err != nil {
		return fmt.Errorf("raftnode: snapshot store in %s: %w", dir, err)
	}
	existing, err := raft.HasExistingState(bolt, bolt, snaps)
	if err != nil {
		return fmt.Errorf("raftnode: inspect state in %s: %w", dir, err)
	}
	if existing {
		return fmt.Errorf("%w: %s", ErrExistingState, dir)
	}
	const term = 1
	conf := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: raft.ServerID(nodeID), Address: raft.ServerAddress(addr)}}}
	// The snapshot's legacy peer list is encoded by a transport; every
	// transport encodes an address as its bytes, so an in-memory one does.
	_, peerCodec := raft.NewInmemTransport(raft.ServerAddress(addr))
	defer peerCodec.Close()
	sink, err := snaps.Create(raft.SnapshotVersionMax, index, term, conf, index, peerCodec)
	if err != nil {
		return fmt.Errorf("raftnode: create snapshot in %s: %w", dir, err)
	}
	if _, err := sink.Write(fsmSnapshot); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("raftnode: write snapshot in %s: %w", dir, err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("raftnode: write snapshot in %s: %w", dir, err)
	}
	// raft's stable-store key for the current term: a term below the
	// snapshot's would look like a node that went back in time.
	if err := bolt.SetUint64([]byte("CurrentTerm"), term); err != nil {
		return fmt.Errorf("raftnode: write term in %s: %w", dir, err)
	}
	return nil
}

// HasState reports whether dataDir holds Raft state (log entries, a term or
// snapshots): a master with state restarts as what it was, one without
// must bootstrap, join or be seeded.
func HasState(dataDir string) (bool, error) {
	dir := filepath.Join(dataDir, "raft")
	if _, err := os.Stat(filepath.Join(dir, "raft.db")); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db"), BoltOptions: &bbolt.Options{Timeout: 2 * time.Second}})
	if err != nil {
		return false, fmt.Errorf("raftnode: open %s (is another orchd using this data dir?): %w", dir, err)
	}
	defer bolt.Close()
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, newHCLogger(slog.New(slog.DiscardHandler), "raft"))
	if err != nil {
		return false, fmt.Errorf("raftnode: snapshot store in %s: %w", dir, err)
	}
	existing, err := raft.HasExistingState(bolt, bolt, snaps)
	if err != nil {
		return false, fmt.Errorf("raftnode: inspect state in %s: %w", dir, err)
	}
	return existing, nil
}
