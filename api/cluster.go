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
	// CADigest names the CA bundle the master trusts now, and CertIssuer
	// the key id of the CA that signed the certificate it serves: a CA
	// replacement moves on when every master caught up.
	CADigest   string `json:"caDigest,omitempty"`
	CertIssuer string `json:"certIssuer,omitempty"`
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

// CARotation is where a CA replacement stands (GET /v1/ca/rotation and the
// answer of POST /v1/ca/rotate): its phase (empty when none is under way),
// how many masters and nodes caught up with it, who is still awaited, and
// the nodes left out because they are down.
type CARotation struct {
	Phase       string   `json:"phase"`
	Force       bool     `json:"force,omitempty"`
	Masters     int      `json:"masters"`
	MastersDone int      `json:"mastersDone"`
	Nodes       int      `json:"nodes"`
	NodesDone   int      `json:"nodesDone"`
	Waiting     []string `json:"waiting,omitempty"`
	Down        []string `json:"down,omitempty"`
	// CAPEM is the CA that signs now, for clients' configurations.
	CAPEM string `json:"caPem,omitempty"`
}

// Done reports whether every master and node awaited caught up.
func (r CARotation) Done() bool {
	return r.Phase != "" && r.MastersDone == r.Masters && r.NodesDone == r.Nodes
}

// RotateCARequest is the body of POST /v1/ca/rotate.
type RotateCARequest struct {
	// Abort undoes a rotation still in its trust phase.
	Abort bool `json:"abort,omitempty"`
	// Force retires the old CA without waiting for nodes that are down.
	Force bool `json:"force,omitempty"`
}
