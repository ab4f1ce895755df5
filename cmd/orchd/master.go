package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/orch-io/orch/master"
	"github.com/orch-io/orch/master/apiserver"
	"github.com/orch-io/orch/master/controllers"
	"github.com/orch-io/orch/master/peer"
	"github.com/orch-io/orch/master/raftnode"
	"github.com/orch-io/orch/master/store"
	"github.com/orch-io/orch/pki"
	"github.com/spf13/cobra"
)

type masterFlags struct {
	dataDir, apiAddr, raftAddr, nodeID string
	bootstrap, leave                   bool
	join                               string
	encryptionKeyFile                  string
	token                              secretFlags
	clusterCIDR                        string
	nodeTimeout, leaderWait            time.Duration
	heartbeatTimeout, electionTimeout  time.Duration
	leaderLeaseTimeout, leaderProbe    time.Duration
	snapshotThreshold, trailingLogs    uint64
	snapshotInterval                   time.Duration
	pprofAddr                          string
	hostPortRange                      string
	maxImageSize                       int64
	maxStreams                         int
	certLifetime                       time.Duration
	rebalance                          bool
}

func (f *masterFlags) register(cmd *cobra.Command, withDataDir bool) {
	fl := cmd.Flags()
	if withDataDir {
		fl.StringVar(&f.dataDir, "data-dir", "/var/lib/orch", "where the master keeps its Raft log, snapshots and credentials")
	}
	fl.StringVar(&f.apiAddr, "api-addr", "0.0.0.0:7400", "HOST:PORT of the HTTPS API")
	fl.StringVar(&f.raftAddr, "raft-addr", "127.0.0.1:7401", "HOST:PORT for Raft; also the address other masters dial")
	fl.StringVar(&f.hostPortRange, "host-port-range", apiserver.DefaultHostPortRange, "host ports services may publish: PORT or LOW-HIGH, comma-separated; orch's own ports (53, 4789, 7400-7402, this master's API and Raft ports) only when named alone")
	fl.StringVar(&f.nodeID, "id", "", "Raft server id (default: derived from --raft-addr)")
	fl.StringVar(&f.clusterCIDR, "cluster-cidr", store.DefaultClusterCIDR, "overlay range, split into one /24 per node: a /11 holds 8,192 nodes (bootstrap only)")
	fl.BoolVar(&f.rebalance, "rebalance", false, "while leader, move replicas by themselves to restore spread after nodes join or come back (as orchctl rebalance does, replacement first, within disruption budgets)")
	fl.DurationVar(&f.nodeTimeout, "node-timeout", controllers.DefaultNodeTimeout, "how long an agent may be silent before its node is down (its agent reports every second)")
	fl.DurationVar(&f.leaderWait, "leader-wait", peer.DefaultLeaderWait, "how long a request waits for a leader before the API answers 503")
	fl.DurationVar(&f.heartbeatTimeout, "raft-heartbeat-timeout", raftnode.DefaultHeartbeatTimeout, "Raft follower heartbeat timeout")
	fl.DurationVar(&f.electionTimeout, "raft-election-timeout", raftnode.DefaultElectionTimeout, "Raft election timeout")
	fl.DurationVar(&f.leaderLeaseTimeout, "raft-leader-lease-timeout", 0, "Raft leader lease: how long a leader leads without a quorum's answer (0: the heartbeat timeout; at most that)")
	fl.DurationVar(&f.leaderProbe, "raft-leader-probe-after", 0, "how long a follower hears nothing from the leader before it checks the leader's Raft port; a refusal (the leader's process is gone) starts an election at once (0: three heartbeats, 3/10 of the heartbeat timeout; negative: never, wait for the heartbeat timeout)")
	fl.Uint64Var(&f.snapshotThreshold, "snapshot-threshold", raftnode.DefaultSnapshotThreshold, "Raft log entries between snapshots")
	fl.DurationVar(&f.snapshotInterval, "snapshot-interval", 30*time.Second, "how often to check the snapshot threshold")
	fl.Uint64Var(&f.trailingLogs, "raft-trailing-logs", raftnode.DefaultTrailingLogs, "log entries kept after a snapshot; a master further behind catches up from a snapshot")
	fl.Var(newSizeFlag(&f.maxImageSize, "2Gi"), "max-image-size", "largest image tarball one upload (orchctl image load) may send: bytes, or with a unit Ki, Mi, Gi, Ti")
	fl.IntVar(&f.maxStreams, "max-streams-per-token", apiserver.DefaultMaxStreams, "open watch, follow and exec streams one token may hold at once; past it the API answers 429")
	fl.DurationVar(&f.certLifetime, "cert-lifetime", pki.DefaultLeafLifetime, "how long the certificates this master signs (masters' and nodes') are valid; each renews itself at two thirds of it")
	fl.StringVar(&f.encryptionKeyFile, "encryption-key-file", "", "the data key that seals secrets (DATA/data.key of a master of the cluster, mode 0600): installed as this master's; a restore of a backup holding secrets needs it")
	addPprofFlag(fl, &f.pprofAddr)
}

// masterGCPercent is the master's GOGC unless the environment sets one. A
// master's live heap is its store, small next to what the API allocates per
// request, so the default (100) collects several times a second under
// write load: at 200 the collector's share of the leader's CPU halves, for
// about 10% more writes per second (BenchmarkWrites), at the cost of a
// peak heap of three times the store instead of two.
const masterGCPercent = 200

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(masterGCPercent)
	}
}

// config is the master's configuration from the flags; the join token,
// read from a file perhaps, is the caller's to add.
func (f *masterFlags) config() master.Config {
	return master.Config{
		DataDir:       f.dataDir,
		APIAddr:       f.apiAddr,
		RaftAddr:      f.raftAddr,
		NodeID:        f.nodeID,
		Bootstrap:     f.bootstrap,
		Join:          splitList(f.join),
		Leave:         f.leave,
		LeaderWait:    f.leaderWait,
		ClusterCIDR:   f.clusterCIDR,
		NodeTimeout:   f.nodeTimeout,
		Rebalance:     f.rebalance,
		HostPortRange: f.hostPortRange,
		MaxImageSize:  f.maxImageSize,
		MaxStreams:    f.maxStreams,
		CertLifetime:  f.certLifetime,

		EncryptionKeyFile: f.encryptionKeyFile,
		Raft: raftnode.Config{
			HeartbeatTimeout:   f.heartbeatTimeout,
			ElectionTimeout:    f.electionTimeout,
			LeaderLeaseTimeout: f.leaderLeaseTimeout,
			LeaderProbeAfter:   f.leaderProbe,
			SnapshotThreshold:  f.snapshotThreshold,
			SnapshotInterval:   f.snapshotInterval,
			TrailingLogs:       f.trailingLogs,
		},
	}
}

func newMasterCommand() *cobra.Command {
	var f masterFlags
	cmd := &cobra.Command{
		Use:   "master",
		Short: "Run a master (Raft member, API server, controllers)",
		Long: `Run a master. The first master of a new cluster starts with --bootstrap; it
writes DIR/admin.conf and the join tokens DIR/agent.token and
DIR/master.token (mode 0600) and prints their paths, never the tokens.
More masters join with --join https://HOST:PORT --token-file FILE (a copy
of DIR/master.token). A restarted master needs neither: its data directory says
which cluster it belongs to.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.join != "" && f.bootstrap {
				return errors.New("--join and --bootstrap: a master either starts a cluster or joins one")
			}
			if f.join != "" && !f.token.given() {
				return errors.New("--join needs --token-file (a token of role master, e.g. DIR/master.token of the first master)")
			}
			cfg := f.config()
			var err error
			if cfg.JoinToken, err = f.token.get(); err != nil {
				return err
			}
			servePprof(f.pprofAddr)
			tuneGC()
			m, err := master.Start(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			<-cmd.Context().Done()
			m.Stop()
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().BoolVar(&f.bootstrap, "bootstrap", false, "start a new cluster with this master as its first member")
	cmd.Flags().StringVar(&f.join, "join", "", "https://HOST:PORT of masters of the cluster to join, comma-separated")
	f.token.register(cmd.Flags(), "master join token")
	cmd.Flags().BoolVar(&f.leave, "leave", false, "on a graceful stop, remove this master from the cluster")
	cmd.AddCommand(newRestoreCommand())
	return cmd
}

func newRestoreCommand() *cobra.Command {
	var f masterFlags
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Start a new single-master cluster from a backup (orchctl snapshot save)",
		Long: `Start a new single-master cluster from a backup written by
orchctl snapshot save, in an empty --data-dir, and keep serving it. The
services, replicas, nodes, CA and tokens come back; the old masters do not
(add masters with orchd master --join). A new admin credential is written
to DIR/admin.conf. Later starts use plain orchd master --data-dir DIR.
A backup holding secrets needs the old cluster's data key
(--encryption-key-file OLD_DATA/data.key): backups hold only ciphertext.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			backup, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			m, err := master.Restore(cmd.Context(), f.config(), backup)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "restored %s into %s; admin credentials in %s/%s\n", args[0], f.dataDir, f.dataDir, master.AdminConfigFile)
			<-cmd.Context().Done()
			m.Stop()
			return nil
		},
	}
	f.register(cmd, true)
	return cmd
}
