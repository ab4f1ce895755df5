// Package peer is how masters talk to one another over the API port: a
// follower forwarding writes to the leader (Forwarder), asking it for a read
// index, reading another master's status, and a new master joining the
// cluster (fetching the CA by its token's digest, then asking to become a
// voter). It also holds the small messages of those calls.
//
// Master-to-master calls authenticate with the calling master's certificate
// (mutual TLS, subject "orch-master"); forwarded requests carry the original
// caller's bearer token and no certificate, so the leader authorizes the
// caller, never the forwarding master. It must not apply commands or touch
// the store: the master and the control-plane routes do that.
package peer

import "time"

// HeaderForwarded marks a request a master forwarded to the leader. A master
// never forwards such a request again, so a stale view of who leads cannot
// make requests loop between masters.
const HeaderForwarded = "X-Orch-Forwarded"

// PathBeats is where a follower sends the leader the heartbeats it
// answered itself.
const PathBeats = "/v1/peer/beats"

// Beats is the body of PathBeats: the nodes a follower heard since its
// last batch.
type Beats struct {
	Nodes []string `json:"nodes"`
}

// Paths of the master-to-master endpoints (served by master/controlplane).
const (
	PathCredentials = "/v1/cluster/credentials"
	PathMembers     = "/v1/cluster/members"
	PathReadIndex   = "/v1/cluster/readindex"
	PathSelf        = "/v1/cluster/self"
	PathTokenUse    = "/v1/cluster/tokenuse"
)

// Credentials is what a joining master receives: the cluster CA, key
// included, so that it can serve TLS, take part in Raft and, once elected,
// sign agents' certificates.
type Credentials struct {
	ClusterID string `json:"clusterId"`
	CACertPEM string `json:"caCertPem"`
	CAKeyPEM  string `json:"caKeyPem"`
	// DataKey is the masters' data key (hex), which seals secret values;
	// it is not replicated state, so a new master gets it here, over the
	// same authenticated call as the CA key (docs/secrets.md).
	DataKey string `json:"dataKey,omitempty"`
}

// Member is a master's request to become a voter: its Raft server id and
// the addresses others reach it at.
type Member struct {
	ID          string `json:"id"`
	RaftAddress string `json:"raftAddress"`
	APIAddress  string `json:"apiAddress"`
	// Protocol is the version the master speaks. It does not travel in the
	// body (a v0.1.0 leader refuses fields it does not know): the leader
	// takes it from the request's api.HeaderProtocol.
	Protocol string `json:"-"`
}

// TokenUse is a follower's report to the leader of when it last accepted
// each token (by id), for the tokens' last-used time.
type TokenUse struct {
	LastUsed map[string]time.Time `json:"lastUsed"`
}

// ReadIndex is the leader's answer to a follower's linearizable read: once
// the follower's store has applied Index, it reflects every write
// acknowledged before the read began.
type ReadIndex struct {
	Index uint64 `json:"index"`
}
