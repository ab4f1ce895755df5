package main

import (
	"errors"
	"time"

	"github.com/orch-io/orch/master"
	"github.com/orch-io/orch/master/raftnode"
	"github.com/spf13/cobra"
)

type masterFlags struct {
	dataDir, apiAddr, raftAddr, nodeID string
	bootstrap                          bool
	join, token                        string
	clusterCIDR                        string
	nodeTimeout                        time.Duration
	heartbeatTimeout, electionTimeout  time.Duration
	leaderLeaseTimeout                 time.Duration
	snapshotThreshold                  uint64
	snapshotInterval                   time.Duration
}

func (f *masterFlags) register(cmd *cobra.Command, withDataDir bool) {
	fl := cmd.Flags()
	if withDataDir {
		fl.StringVar(&f.dataDir, "data-dir", "/var/lib/orch", "where the master keeps its Raft log, snapshots and credentials")
	}
	fl.StringVar(&f.apiAddr, "api-addr", "0.0.0.0:7400", "HOST:PORT of the HTTPS API")
	fl.StringVar(&f.raftAddr, "raft-addr", "127.0.0.1:7401", "HOST:PORT for Raft; also the address other masters dial")
	fl.StringVar(&f.nodeID, "id", "", "Raft server id (default: derived from --raft-addr)")
	fl.StringVar(&f.clusterCIDR, "cluster-cidr", "10.244.0.0/16", "overlay range, split into one /24 per node (bootstrap only)")
	fl.DurationVar(&f.nodeTimeout, "node-timeout", 5*time.Second, "how long an agent may be silent before its node is down")
	fl.DurationVar(&f.heartbeatTimeout, "raft-heartbeat-timeout", 500*time.Millisecond, "Raft follower heartbeat timeout")
	fl.DurationVar(&f.electionTimeout, "raft-election-timeout", 500*time.Millisecond, "Raft election timeout")
	fl.DurationVar(&f.leaderLeaseTimeout, "raft-leader-lease-timeout", 250*time.Millisecond, "Raft leader lease")
	fl.Uint64Var(&f.snapshotThreshold, "snapshot-threshold", 8192, "Raft log entries between snapshots")
	fl.DurationVar(&f.snapshotInterval, "snapshot-interval", 30*time.Second, "how often to check the snapshot threshold")
}

func (f *masterFlags) config() master.Config {
	return master.Config{
		DataDir:     f.dataDir,
		APIAddr:     f.apiAddr,
		RaftAddr:    f.raftAddr,
		NodeID:      f.nodeID,
		Bootstrap:   f.bootstrap,
		ClusterCIDR: f.clusterCIDR,
		NodeTimeout: f.nodeTimeout,
		Raft: raftnode.Config{
			HeartbeatTimeout:   f.heartbeatTimeout,
			ElectionTimeout:    f.electionTimeout,
			LeaderLeaseTimeout: f.leaderLeaseTimeout,
			SnapshotThreshold:  f.snapshotThreshold,
			SnapshotInterval:   f.snapshotInterval,
		},
	}
}

func newMasterCommand() *cobra.Command {
	var f masterFlags
	cmd := &cobra.Command{
		Use:   "master",
		Short: "Run a master (Raft member, API server, controllers)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.join != "" {
				return errors.New("--join: adding masters to a cluster is not supported yet; run a single master with --bootstrap")
			}
			m, err := master.Start(cmd.Context(), f.config())
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
	cmd.Flags().StringVar(&f.join, "join", "", "https://HOST:PORT of a master of the cluster to join")
	cmd.Flags().StringVar(&f.token, "token", "", "master join token")
	return cmd
}
