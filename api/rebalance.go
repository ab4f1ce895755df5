package api

// Rebalance is the answer of POST /v1/rebalance: the moves that restore
// the spread of replicated services, each a replacement started on To
// before the replica on From stops, within each service's disruption
// budget. With DryRun nothing was changed.
type Rebalance struct {
	DryRun bool            `json:"dryRun"`
	Moves  []RebalanceMove `json:"moves"`
	// Rejected are moves the cluster refused because their replica changed
	// since the plan was made, by replica id; the next plan retries them.
	Rejected map[string]string `json:"rejected,omitempty"`
}

// RebalanceMove is one replica (SERVICE.SLOT) to move, nodes by name.
type RebalanceMove struct {
	Namespace string `json:"namespace"`
	Service   string `json:"service"`
	Replica   string `json:"replica"`
	ID        string `json:"id"`
	From      string `json:"from"`
	To        string `json:"to"`
}
