// Package store owns the master's replicated state: the in-memory, indexed
// objects (services, replicas, nodes, images, cluster config) that every
// master rebuilds by applying the same committed Raft commands in the same
// order, plus the raft.FSM that feeds them in, the snapshot format and the
// ring of recent changes that watches are served from.
//
// It must not touch the network, the disk, clocks or randomness: Apply is a
// pure function of the current state and the command, so that every master
// arrives at the same state. Validation of user input belongs to the API and
// the manifest package; the store only does the cheap checks that keep its
// own invariants (indexes, allocation, subnets) intact.
package store
