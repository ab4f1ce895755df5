// Package health runs a replica's health check (HTTP, TCP or exec) on its
// interval and turns the results into a state: starting until the first
// success, healthy, and unhealthy after `retries` consecutive failures, with
// failures during `startPeriod` not counted until the replica has once been
// healthy (Docker's semantics).
//
// It owns probing and the counting of results. It must not touch the
// container (the agent's worker decides what an unhealthy replica means:
// restart per policy) nor report to masters. Probes reach the replica from
// the host, at its overlay address, or through the Exec function the agent
// passes in.
package health
