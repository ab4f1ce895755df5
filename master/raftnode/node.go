package raftnode

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// Errors, checked with errors.Is.
var (
	// ErrNotLeader: this master is not the leader; send the request to
	// Leader() instead.
	ErrNotLeader = errors.New("raftnode: not the leader")
	// ErrLeadershipLost: leadership was lost while a command was in flight.
	// The command may or may not have been committed, so blind retries can
	// apply it twice; conditional writes (If-Match) are safe to retry.
	ErrLeadershipLost = errors.New("raftnode: leadership lost while applying; outcome unknown")
	// ErrShutdown: the node has been shut down.
	ErrShutdown = errors.New("raftnode: shut down")
)

// Node is one master's Raft member. Its methods are safe for concurrent use.
type Node struct {
	cfg       Config
	logger    *slog.Logger
	raft      *raft.Raft
	bolt      *raftboltdb.BoltStore
	logs      raft.LogStore // bolt behind a cache
	snaps     *raft.FileSnapshotStore
	transport *raft.NetworkTransport

	leadership *leadershipQueue
	metrics    *raftMetrics
	// readyTerm is the last term in which this node, as leader, committed
	// an entry (see commitInTerm).
	readyTerm atomic.Uint64
	// stopWatch ends the dead-leader watch (failover.go).
	stopWatch func()

	shutdownOnce sync.Once
	shutdownErr  error
}

// Open opens (or creates) the Raft state in cfg.DataDir/raft and joins
// Raft with fsm. With cfg.Bootstrap and no existing state it bootstraps a
// one-voter cluster of itself; otherwise it waits to hear from a leader (or
// wins an election from its stored configuration).
//
// At start raft restores fsm from the latest snapshot and then replays the
// committed log after it, so fsm must be empty.
func Open(cfg Config, fsm raft.FSM) (n *Node, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	dir := filepath.Join(cfg.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("raftnode: create %s: %w", dir, err)
	}
	n = &Node{cfg: cfg, logger: cfg.Logger.With("component", "raftnode", "node", cfg.NodeID), metrics: newRaftMetrics()}
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				_ = closers[i]()
			}
		}
	}()

	dbPath := filepath.Join(dir, "raft.db")
	// The timeout turns "another process has this data dir open" into an
	// error instead of a hang.
	n.bolt, err = raftboltdb.New(raftboltdb.Options{Path: dbPath, BoltOptions: &bbolt.Options{Timeout: 2 * time.Second}})
	if err != nil {
		return nil, fmt.Errorf("raftnode: open %s: %w", dbPath, err)
	}
	closers = append(closers, n.bolt.Close)
	if n.logs, err = raft.NewLogCache(512, n.bolt); err != nil {
		return nil, fmt.Errorf("raftnode: log cache: %w", err)
	}
	hclogger := newHCLogger(cfg.Logger, "raft")
	if n.snaps, err = raft.NewFileSnapshotStoreWithLogger(dir, 2, hclogger); err != nil {
		return nil, fmt.Errorf("raftnode: snapshot store in %s: %w", dir, err)
	}
	if n.transport, err = newTransport(cfg, hclogger); err != nil {
		return nil, err
	}
	closers = append(closers, n.transport.Close)

	existing, err := raft.HasExistingState(n.logs, n.bolt, n.snaps)
	if err != nil {
		return nil, fmt.Errorf("raftnode: inspect state in %s: %w", dir, err)
	}

	notify := make(chan bool, 16)
	n.leadership = newLeadershipQueue(notify, n.logger)
	closers = append(closers, func() error { n.leadership.stop(); return nil })
	n.raft, err = raft.NewRaft(cfg.raftConfig(notify), fsm, n.logs, n.bolt, n.snaps, n.transport)
	if err != nil {
		return nil, fmt.Errorf("raftnode: start raft in %s: %w", dir, err)
	}
	closers = append(closers, func() error { return n.raft.Shutdown().Error() })
	n.countLeaderChanges()
	n.stopWatch = n.watchLeader(cfg.LeaderProbeAfter)
	closers = append(closers, func() error { n.stopWatch(); return nil })

	if cfg.Bootstrap && !existing {
		conf := raft.Configuration{Servers: []raft.Server{{
			Suffrage: raft.Voter, ID: raft.ServerID(cfg.NodeID), Address: n.transport.LocalAddr(),
		}}}
		if err := n.raft.BootstrapCluster(conf).Error(); err != nil {
			return nil, fmt.Errorf("raftnode: bootstrap %s at %s: %w", cfg.NodeID, n.transport.LocalAddr(), err)
		}
		n.logger.Info("bootstrapped a new cluster", "addr", n.transport.LocalAddr())
	}
	n.logger.Info("raft started", "addr", n.transport.LocalAddr(), "existing_state", existing)
	return n, nil
}

func newTransport(cfg Config, logger *hcLogger) (*raft.NetworkTransport, error) {
	if cfg.StreamLayer != nil {
		return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream: cfg.StreamLayer, MaxPool: 3, Timeout: 10 * time.Second, Logger: logger,
		}), nil
	}
	if cfg.ServerTLS != nil {
		stream, err := newTLSStreamLayer(cfg.BindAddr, cfg.AdvertiseAddr, cfg.ServerTLS, cfg.ClientTLS)
		if err != nil {
			return nil, err
		}
		return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream: stream, MaxPool: 3, Timeout: 10 * time.Second, Logger: logger,
		}), nil
	}
	var advertise net.Addr
	if cfg.AdvertiseAddr != "" {
		a, err := net.ResolveTCPAddr("tcp", cfg.AdvertiseAddr)
		if err != nil {
			return nil, fmt.Errorf("raftnode: advertise address %q: %w", cfg.AdvertiseAddr, err)
		}
		advertise = a
	}
	t, err := raft.NewTCPTransportWithLogger(cfg.BindAddr, advertise, 3, 10*time.Second, logger)
	if err != nil {
		return nil, fmt.Errorf("raftnode: listen on %s: %w", cfg.BindAddr, err)
	}
	return t, nil
}

// Addr is the address other masters reach this one at.
func (n *Node) Addr() string { return string(n.transport.LocalAddr()) }

// ID is this master's Raft server ID.
func (n *Node) ID() string { return n.cfg.NodeID }

// IsLeader reports whether this master currently believes it leads. For a
// decision that must not act on a stale belief, use VerifyLeader.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Leader returns the current leader's ID and address as this node knows
// them; both are empty when there is none.
func (n *Node) Leader() (id, addr string) {
	a, i := n.raft.LeaderWithID()
	return string(i), string(a)
}

// AppliedIndex is the last log index raft has handed to the FSM. It may
// run ahead of the FSM's own state (raft hands over batches) and counts
// entries the FSM never sees (no-ops, configuration): wait on the store's
// Index for reads.
func (n *Node) AppliedIndex() uint64 { return n.raft.AppliedIndex() }

// Stats are raft's counters (state, term, indexes, peers), for status pages.
func (n *Node) Stats() map[string]string { return n.raft.Stats() }

// Raft exposes the underlying raft for what this package does not wrap
// (leadership transfer, observers). Do not Shutdown it directly.
func (n *Node) Raft() *raft.Raft { return n.raft }

// Snapshot takes a snapshot now and compacts the log behind it. It returns
// an error wrapping raft.ErrNothingNewToSnapshot when nothing was applied
// since the last one.
func (n *Node) Snapshot() error {
	if err := n.raft.Snapshot().Error(); err != nil {
		return fmt.Errorf("raftnode: snapshot on %s: %w", n.cfg.NodeID, err)
	}
	return nil
}

// Shutdown leaves Raft (without removing this master from the
// configuration), closes the leadership channel, the transport and the
// store. It is safe to call more than once.
func (n *Node) Shutdown() error {
	n.shutdownOnce.Do(func() {
		var errs []error
		n.stopWatch()
		if err := n.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raft: %w", err))
		}
		n.leadership.stop()
		if err := n.transport.Close(); err != nil {
			errs = append(errs, fmt.Errorf("transport: %w", err))
		}
		if err := n.bolt.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raft.db: %w", err))
		}
		if err := errors.Join(errs...); err != nil {
			n.shutdownErr = fmt.Errorf("raftnode: shutdown %s: %w", n.cfg.NodeID, err)
		}
		n.logger.Info("raft stopped")
	})
	return n.shutdownErr
}

// State is this master's Raft state in lower case: "leader", "follower",
// "candidate" or "shutdown".
func (n *Node) State() string { return strings.ToLower(n.raft.State().String()) }

// LastContact is when this master last heard from a leader (zero when it
// leads or never has).
func (n *Node) LastContact() time.Time { return n.raft.LastContact() }
