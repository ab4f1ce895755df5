package api

// TokenRequest is the body of POST /v1/tokens.
type TokenRequest struct {
	Role string `json:"role"`
}

// Token is a new bearer token, shown once: the cluster keeps only its
// digest.
type Token struct {
	Token string `json:"token"`
	Role  string `json:"role"`
}

// ContentTypeSnapshot is GET /v1/snapshot's body: a binary StateSnapshot.
const ContentTypeSnapshot = "application/x-protobuf; messageType=orch.v1.StateSnapshot"
