package api

import "time"

// Cluster is GET /v1/cluster: the masters and who leads them.
type Cluster struct {
	ClusterID string `json:"clusterId"`
	// Leader is the leader's Raft address, LeaderID its server id.
	Leader   string   `json:"leader"`
	LeaderID string   `json:"leaderId"`
	Index    uint64   `json:"index"`
	Members  []Member `json:"members"`
}

// Member is one master of the Raft group.
type Member struct {
	ID           string `json:"id"`
	RaftAddress  string `json:"raftAddress"`
	APIAddress   string `json:"apiAddress"`
	Role         string `json:"role"`
	AppliedIndex uint64 `json:"appliedIndex"`
	Healthy      bool   `json:"healthy"`
	// Protocol is the protocol version the master recorded for itself
	// ("0.1" for a master of v0.1.0, which records none).
	Protocol string `json:"protocol,omitempty"`
}

// Event is a human event of GET /v1/events: "scheduled", "started",
// "unhealthy", "rescheduled", "node down", with the object it is about.
type Event struct {
	Time    time.Time `json:"time"`
	Index   uint64    `json:"index"`
	Kind    string    `json:"kind"`
	Object  string    `json:"object"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
}
