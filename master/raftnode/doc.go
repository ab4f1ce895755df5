// Package raftnode wires hashicorp/raft for a master: the bbolt log and
// stable store (DATA/raft/raft.db), file snapshots (DATA/raft/snapshots),
// the transport (mutual TLS between masters, or plain TCP in tests),
// bootstrap, seeding a restored cluster, membership changes, leadership
// notifications, the read-index helpers for linearizable reads, and the
// follower's watch that elects a successor at once when the leader's
// process is gone (failover.go).
//
// It knows nothing about what the commands mean: it takes any raft.FSM
// whose Apply returns *orchpb.CommandResult (master/store's FSM). It must
// not run controllers or serve the API; those belong to their own packages
// and only consume what a Node reports.
package raftnode
