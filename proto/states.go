// Package orchpb holds orch's one schema: the protobuf messages for stored
// objects, Raft commands and the agent channel (generated from orch.proto),
// plus the typed names of the string-valued states and modes, the one table
// of spec defaults and the accessors that read them. It owns no behaviour;
// every other package imports it.
package orchpb

import "strconv"

// The states are strings on the wire and in storage (their JSON form is the
// word users read), but each kind has its own Go type, read and written
// through the accessors below: comparing a replica's desired state with its
// observed one, or a node's state with a replica's, does not compile.
type (
	// DesiredState is what the cluster wants of a replica.
	DesiredState string
	// ReplicaState is what an agent observed of a replica.
	ReplicaState string
	// NodeState is a node's state, or the operator's choice for it.
	NodeState string
	// UpdateState is the state of a service's rollout.
	UpdateState string
)

// Replica desired states.
const (
	DesiredRunning DesiredState = "running"
	DesiredStopped DesiredState = "stopped"
)

// Replica observed states, in the order a healthy replica moves through them.
const (
	ReplicaPending   ReplicaState = "pending"
	ReplicaAssigned  ReplicaState = "assigned"
	ReplicaStarting  ReplicaState = "starting"
	ReplicaRunning   ReplicaState = "running"
	ReplicaUnhealthy ReplicaState = "unhealthy"
	ReplicaFailed    ReplicaState = "failed"
	ReplicaStopped   ReplicaState = "stopped"
	ReplicaLost      ReplicaState = "lost"
)

// Node states. Cordoned and draining are also the operator's choices
// (Node.admin_state), where ready is stored as "".
const (
	NodeReady    NodeState = "ready"
	NodeDown     NodeState = "down"
	NodeDraining NodeState = "draining"
	NodeCordoned NodeState = "cordoned"
)

// Rollout states (UpdateStatus.state).
const (
	UpdateUpdating    UpdateState = "updating"
	UpdateCompleted   UpdateState = "completed"
	UpdatePaused      UpdateState = "paused"
	UpdateFailed      UpdateState = "failed"
	UpdateRollingBack UpdateState = "rolling_back"
	UpdateRolledBack  UpdateState = "rolled_back"
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

// Desired is the replica's desired state.
func (r *Replica) Desired() DesiredState { return DesiredState(r.GetDesiredState()) }

// SetDesired sets the replica's desired state.
func (r *Replica) SetDesired(s DesiredState) { r.DesiredState = string(s) }

// Observed is the replica's observed state.
func (r *Replica) Observed() ReplicaState { return ReplicaState(r.GetState()) }

// SetObserved sets the replica's observed state.
func (r *Replica) SetObserved(s ReplicaState) { r.State = string(s) }

// Observed is the state an agent reports.
func (s *ReplicaStatus) Observed() ReplicaState { return ReplicaState(s.GetState()) }

// SetObserved sets the state an agent reports.
func (s *ReplicaStatus) SetObserved(st ReplicaState) { s.State = string(st) }

// Observed is the endpoint's replica's observed state.
func (e *Endpoint) Observed() ReplicaState { return ReplicaState(e.GetState()) }

// Status is the node's state.
func (n *Node) Status() NodeState { return NodeState(n.GetState()) }

// SetStatus sets the node's state.
func (n *Node) SetStatus(s NodeState) { n.State = string(s) }

// Admin is the operator's choice for the node: ready, cordoned or
// draining. It is its state whenever the node is not down.
func (n *Node) Admin() NodeState {
	if s := n.GetAdminState(); s != "" {
		return NodeState(s)
	}
	return NodeReady
}

// SetAdmin records the operator's choice; ready is stored as "".
func (n *Node) SetAdmin(s NodeState) {
	if s == NodeReady {
		s = ""
	}
	n.AdminState = string(s)
}

// Target is the state the command sets.
func (c *SetNodeState) Target() NodeState { return NodeState(c.GetState()) }

// RolloutState is the rollout's state.
func (u *UpdateStatus) RolloutState() UpdateState { return UpdateState(u.GetState()) }

// SetRolloutState sets the rollout's state.
func (u *UpdateStatus) SetRolloutState(s UpdateState) { u.State = string(s) }

// RolloutState is the state of the service's latest rollout.
func (s *ServiceStatus) RolloutState() UpdateState { return UpdateState(s.GetUpdateState()) }

// LastRolloutResult is how the service's last finished rollout ended.
func (s *ServiceStatus) LastRolloutResult() UpdateState {
	return UpdateState(s.GetLastUpdateResult())
}

// InProgress reports whether a rollout in state s is still moving.
func (s UpdateState) InProgress() bool { return s == UpdateUpdating || s == UpdateRollingBack }

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
	switch r.Observed() {
	case ReplicaFailed, ReplicaStopped, ReplicaLost:
		return true
	}
	return false
}

// PreemptedBy starts the message of a replica stopped to make room for a
// replica of higher priority; the preemptor's service name follows. The
// events derived from it are reasoned Preempted.
const PreemptedBy = "preempted by service "
