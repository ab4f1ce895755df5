// Package scheduler decides where replicas run. It takes a read-only view of
// the cluster (nodes and the replicas that hold resources on them) and the
// pending replicas of one or more services, and returns a plan: a node for
// each replica it could place and, for each one it could not, a sentence
// saying why ("0/6 nodes can run it: 3 lack memory (need 2Gi), ...").
//
// It is pure: no I/O, no clocks, no globals, no goroutines. It must not touch
// the store, Raft or the network; the leader applies the plan through Raft
// and re-checks it there, so a plan made on a stale view never over-commits.
//
// Placement runs in two steps. Feasibility filters (filter.go) drop nodes
// that cannot take a replica; each explains itself so reasons come for free.
// Scoring (select.go) then picks among the rest: spreadBy balances a label's
// values first, then the strategy (spread or binpack) picks the node.
// Replicas of one service with the same requirements form an equivalence
// class (Borg): feasibility is computed once per node per class and then
// updated only for the node a placement changed.
//
// Affinity and anti-affinity between services (affinity.go) and whole
// devices (devices.go) are dynamic filters like resources. A slot whose
// persistent volume is bound to a node (volumes.go, Request.Volumes) is
// pinned there like a replica with its node set, and says which node it
// waits for. Preempt
// (preempt.go) chooses which lower-priority replicas to stop when Schedule
// found no room, and Rebalance (rebalance.go) which replicas to move to
// restore spread; both are pure like Schedule.
package scheduler
