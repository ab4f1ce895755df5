// Package orchpb holds orch's one schema: the protobuf messages for stored
// objects, Raft commands and the agent channel (generated from orch.proto),
// plus the constants for the string-valued states and modes. It owns no
// behaviour; every other package imports it.
package orchpb

import "strconv"

// Replica desired states.
const (
	DesiredRunning = "running"
	DesiredStopped = "stopped"
)

// Replica observed states, in the order a healthy replica moves through them.
const (
	ReplicaPending   = "pending"
	ReplicaAssigned  = "assigned"
	ReplicaStarting  = "starting"
	ReplicaRunning   = "running"
	ReplicaUnhealthy = "unhealthy"
	ReplicaFailed    = "failed"
	ReplicaStopped   = "stopped"
	ReplicaLost      = "lost"
)

// Node states.
const (
	NodeReady    = "ready"
	NodeDown     = "down"
	NodeDraining = "draining"
	NodeCordoned = "cordoned"
)

// The kind a service manifest names, service modes, restart policies,
// placement strategies and what a failed rollout does (update.onFailure).
const (
	KindService = "Service"

	ModeReplicated = "replicated"
	ModeGlobal     = "global"

	RestartAlways    = "always"
	RestartOnFailure = "on-failure"
	RestartNever     = "never"

	StrategySpread  = "spread"
	StrategyBinpack = "binpack"

	OnFailureRollback = "rollback"
	OnFailurePause    = "pause"
)

// Command result error codes (CommandResult.error_code).
const (
	ResultConflict = "conflict"
	ResultNotFound = "not_found"
	ResultInvalid  = "invalid"
)

// DisplayName is SERVICE.SLOT, the name users type for a replica.
func (r *Replica) DisplayName() string {
	if r == nil {
		return ""
	}
	if r.Name != "" {
		return r.Name
	}
	return r.Service + "." + strconv.Itoa(int(r.Slot))
}

// Terminal reports whether the replica will not run again by itself.
func (r *Replica) Terminal() bool {
	switch r.GetState() {
	case ReplicaFailed, ReplicaStopped, ReplicaLost:
		return true
	}
	return false
}

// Rollout states (UpdateStatus.state).
const (
	UpdateUpdating    = "updating"
	UpdateCompleted   = "completed"
	UpdatePaused      = "paused"
	UpdateFailed      = "failed"
	UpdateRollingBack = "rolling_back"
	UpdateRolledBack  = "rolled_back"
)

// UpdateInProgress reports whether a rollout in state s is still moving.
func UpdateInProgress(s string) bool { return s == UpdateUpdating || s == UpdateRollingBack }
