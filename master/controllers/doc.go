// Package controllers holds the leader-only reconcilers: the service
// controller turns each service into replicas, places them through the pure
// scheduler, replaces the ones that failed for good or were lost, rolls a
// new generation out slot by slot within update.maxSurge and
// update.maxUnavailable (a drain is the same replacement), and keeps a
// global service on every eligible node; the update controller judges each
// rollout (completed, or failed past update.deadline: rolled back or
// paused); the node controller turns missed heartbeats into `down` nodes
// and lost replicas. The service pass also preempts lower-priority
// replicas for higher ones it cannot place and makes the moves the
// rebalancer marked (replacement first); RebalancePlan and the opt-in
// rebalance controller choose them. Plan is the dry run of the same
// decisions on a scratch copy of the store.
//
// Each is New(deps) + Run(ctx): level-triggered, it reads the store,
// decides, and writes only through Raft; a new leader simply starts them and
// a deposed one cancels their context. They never call one another and
// never talk to agents; the service and update controllers share only the
// leader's memory of how long replicas have been running (Readiness).
package controllers
