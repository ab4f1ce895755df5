package api

import "time"

// TokenRequest is the body of POST /v1/tokens.
type TokenRequest struct {
	Role string `json:"role"`
	// TTL, a duration such as "24h", makes the token expire that long after
	// its creation; empty, it never expires.
	TTL string `json:"ttl,omitempty"`
}

// Token is a new bearer token, shown once: the cluster keeps only its
// digest.
type Token struct {
	Token   string    `json:"token"`
	Role    string    `json:"role"`
	ID      string    `json:"id,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
}

// TokenInfo is a token as GET /v1/tokens lists it: never its secret nor
// its digest, only the id that `orchctl token revoke` takes. Times are
// zero (absent) when unknown: created for a token from before they were
// recorded, expires for one that never expires, lastUsed for one never
// used. lastUsed is coarse: up to a minute behind on masters other than
// the one answering.
type TokenInfo struct {
	ID       string    `json:"id"`
	Role     string    `json:"role"`
	Created  time.Time `json:"created,omitzero"`
	Expires  time.Time `json:"expires,omitzero"`
	LastUsed time.Time `json:"lastUsed,omitzero"`
}

// ContentTypeSnapshot is GET /v1/snapshot's body: a binary StateSnapshot.
const ContentTypeSnapshot = "application/x-protobuf; messageType=orch.v1.StateSnapshot"
