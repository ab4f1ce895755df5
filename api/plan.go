package api

// Plan is the dry run of one service manifest (POST /v1/plan): how it
// differs from what the cluster has, and where each replica it needs would
// go, or why it cannot. Nothing is changed by making one.
type Plan struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Action is create, update (a new generation: a rolling update), scale
	// or unchanged.
	Action string `json:"action"`
	// Generation is the one the service would have.
	Generation uint64 `json:"generation"`
	// Diff lists the changed fields of the spec, by path.
	Diff []PlanChange `json:"diff,omitempty"`
	// Rollout says how an update would proceed.
	Rollout string `json:"rollout,omitempty"`
	// Placements and Unplaced are the new replicas the change needs, as the
	// scheduler would place them on the cluster as it is now (for an
	// update: once the rollout has replaced every replica).
	Placements []PlanPlacement `json:"placements,omitempty"`
	Unplaced   []PlanUnplaced  `json:"unplaced,omitempty"`
	// Preempts are the replicas of lower priority the placements would
	// stop to make room (docs/manifest.md, priorities), on their nodes.
	Preempts []PlanPlacement `json:"preempts,omitempty"`
	// Summary is how many nodes could take one replica, and why the others
	// cannot: "4/6 nodes can run it: 2 lack memory (need 2Gi)".
	Summary string `json:"summary"`
}

// PlanChange is one changed field; Old or New is empty when the field is
// added or removed.
type PlanChange struct {
	Field string `json:"field"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new,omitempty"`
}

// PlanPlacement puts one replica (SERVICE.SLOT) on a node (by name).
type PlanPlacement struct {
	Replica string `json:"replica"`
	Node    string `json:"node"`
}

// PlanUnplaced is a replica no node could take, and why.
type PlanUnplaced struct {
	Replica string `json:"replica"`
	Reason  string `json:"reason"`
}

// Plan actions.
const (
	PlanCreate    = "create"
	PlanUpdate    = "update"
	PlanScale     = "scale"
	PlanUnchanged = "unchanged"
)
