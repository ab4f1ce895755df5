package api

// CARotateRequest is the body of POST /v1/ca/rotate.
type CARotateRequest struct {
	// Abort ends a rotation still in phase trust (nothing is signed by the
	// new CA yet); past trust the way out is to finish.
	Abort bool `json:"abort,omitempty"`
	// Force lets the rotation retire the old CA although nodes that are
	// down still hold certificates only it signed (they must rejoin).
	Force bool `json:"force,omitempty"`
}

// CARotationStatus answers GET /v1/ca/rotate: the phase of the CA
// rotation under way ("" when none) and who has caught up with it.
type CARotationStatus struct {
	Phase string `json:"phase"`
	// CA is the digest of the cluster CA, Next that of the CA replacing it.
	CA   string `json:"ca"`
	Next string `json:"next,omitempty"`
	// Masters and Nodes count who caught up with the phase: trusting both
	// CAs in trust, holding a certificate the new CA signed in sign.
	Masters CACount `json:"masters"`
	Nodes   CACount `json:"nodes"`
	// Waiting names the masters and nodes the phase waits for; Down the
	// nodes that are down, not waited for.
	Waiting []string `json:"waiting,omitempty"`
	Down    []string `json:"down,omitempty"`
	// Ready: the next phase may begin.
	Ready bool `json:"ready"`
	Force bool `json:"force,omitempty"`
}

// CACount is how many of Total caught up.
type CACount struct {
	Ready int `json:"ready"`
	Total int `json:"total"`
}
