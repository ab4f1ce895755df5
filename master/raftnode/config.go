package raftnode

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"time"

	"github.com/hashicorp/raft"
)

// Config is how one master takes part in Raft. Zero durations and counts
// take the defaults below.
type Config struct {
	// DataDir holds raft/raft.db and raft/snapshots.
	DataDir string
	// BindAddr is HOST:PORT to listen on; port 0 picks a free port (Addr
	// tells which).
	BindAddr string
	// AdvertiseAddr is the HOST:PORT other masters dial; empty means the
	// listener's address, which must then not be 0.0.0.0.
	AdvertiseAddr string
	// NodeID is this master's Raft server ID, stable across restarts.
	NodeID string
	// Bootstrap makes this master the first voter of a new cluster. It is
	// ignored when DataDir already holds Raft state, so it is safe to keep
	// on across restarts.
	Bootstrap bool

	// Timeouts: hashicorp/raft's own defaults. Half of them (500 ms,
	// lease 250 ms) fail over faster on an idle machine, but a master
	// serving thousands of agents on two shared cores then misses its
	// own heartbeats and loses the leadership again and again
	// (BenchmarkScale at 2,000 nodes: 28 leader changes while placing
	// against 4, and the placement took twice as long). The lease is the
	// heartbeat timeout (hashicorp's is half of it): at 5,000 nodes the
	// leader stepped down each time a follower answered 500-980 ms late,
	// then won the election again a second later, with no writes in
	// between. A longer lease only keeps a leader cut off from its quorum
	// leading a little longer, and it can commit nothing meanwhile; reads
	// check leadership with a quorum (VerifyLeader), never by the lease.
	HeartbeatTimeout   time.Duration // default 1s
	ElectionTimeout    time.Duration // default 1s
	LeaderLeaseTimeout time.Duration // default: HeartbeatTimeout
	CommitTimeout      time.Duration // default 10ms

	// LeaderProbeAfter is how long a follower hears nothing from its
	// leader before it checks whether the leader's process is gone, to
	// elect a new one at once if so (failover.go). Default: three
	// heartbeats, 3/10 of HeartbeatTimeout (a longer heartbeat timeout
	// spaces the heartbeats too); negative: never, only raft's timeouts.
	LeaderProbeAfter time.Duration

	SnapshotThreshold uint64        // default 8192 log entries
	SnapshotInterval  time.Duration // default 2m (raft staggers it up to 2x)
	TrailingLogs      uint64        // default 10240

	// ServerTLS and ClientTLS, when both set, carry Raft over mutual TLS on
	// BindAddr (advertising AdvertiseAddr): ServerTLS for connections other
	// masters open, ClientTLS for the ones this master opens. Both must
	// verify that the peer is a master (package pki makes such configs).
	ServerTLS, ClientTLS *tls.Config

	// StreamLayer replaces the listener altogether. It must listen on (and
	// advertise) the address other masters dial; BindAddr, AdvertiseAddr and
	// the TLS configs are then unused.
	StreamLayer raft.StreamLayer

	// Logger receives raft's own log, at warn and above unless the logger
	// is enabled for debug. Nil means slog.Default().
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultHeartbeatTimeout  = time.Second
	DefaultElectionTimeout   = time.Second
	DefaultCommitTimeout     = 10 * time.Millisecond
	DefaultSnapshotThreshold = 8192
	DefaultSnapshotInterval  = 2 * time.Minute
	DefaultTrailingLogs      = 10240
)

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.HeartbeatTimeout, DefaultHeartbeatTimeout)
	def(&c.ElectionTimeout, DefaultElectionTimeout)
	def(&c.LeaderLeaseTimeout, c.HeartbeatTimeout)
	def(&c.CommitTimeout, DefaultCommitTimeout)
	def(&c.LeaderProbeAfter, c.HeartbeatTimeout*leaderProbeHeartbeats/10)
	def(&c.SnapshotInterval, DefaultSnapshotInterval)
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = DefaultSnapshotThreshold
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = DefaultTrailingLogs
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("raftnode: DataDir is required")
	case c.NodeID == "":
		return errors.New("raftnode: NodeID is required")
	case c.BindAddr == "" && c.StreamLayer == nil:
		return errors.New("raftnode: BindAddr is required")
	case (c.ServerTLS == nil) != (c.ClientTLS == nil):
		return errors.New("raftnode: ServerTLS and ClientTLS go together")
	}
	return nil
}

// raftConfig turns c into hashicorp/raft's configuration.
func (c Config) raftConfig(notify chan<- bool) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.NodeID)
	rc.HeartbeatTimeout = c.HeartbeatTimeout
	rc.ElectionTimeout = c.ElectionTimeout
	rc.LeaderLeaseTimeout = c.LeaderLeaseTimeout
	rc.CommitTimeout = c.CommitTimeout
	rc.SnapshotThreshold = c.SnapshotThreshold
	rc.SnapshotInterval = c.SnapshotInterval
	rc.TrailingLogs = c.TrailingLogs
	// Concurrent proposals share one disk flush and one replication round.
	rc.BatchApplyCh = true
	// Start from the latest snapshot, then replay the log after it.
	rc.NoSnapshotRestoreOnStart = false
	rc.NotifyCh = notify
	rc.Logger = newHCLogger(c.Logger, "raft")
	return rc
}
