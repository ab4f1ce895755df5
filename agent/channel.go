package agent

import (
	"context"
	"crypto/x509"
	"net/http"

	orchpb "github.com/orch-io/orch/proto"
)

// Channel is the agent's end of the agent channel (join, register, the
// assignment stream, status reports), for programs that speak it without
// running containers: the hollow agent of scale tests. It is the agent's
// own code, so what it measures is the real protocol.
type Channel struct {
	conn *masterConn
}

// NewChannel talks to masters (API URLs, tried in turn) with token,
// trusting ca. httpClient carries requests, stream the long-lived
// assignment stream; nil builds the agent's own. Many channels may share
// two clients, so that thousands of simulated nodes multiplex a few
// connections.
func NewChannel(masters []string, token string, ca *x509.CertPool, httpClient, stream *http.Client) *Channel {
	c := newMasterConn(masters, token, ca)
	if httpClient != nil {
		c.http = httpClient
	}
	if stream != nil {
		c.stream = stream
	}
	return &Channel{conn: c}
}

// FetchCA downloads the cluster CA from masterURL and checks it against
// the digest the join token carries, before the token is ever sent.
func FetchCA(ctx context.Context, masterURL, token string) ([]byte, error) {
	return fetchCA(ctx, masterURL, token)
}

// Register adds or refreshes the node.
func (ch *Channel) Register(ctx context.Context, reg *orchpb.NodeRegistration) (*orchpb.NodeRegistrationResponse, error) {
	return ch.conn.register(ctx, reg)
}

// ReportStatus sends a batch of observations; it is also the heartbeat.
func (ch *Channel) ReportStatus(ctx context.Context, report *orchpb.StatusReport) error {
	return ch.conn.reportStatus(ctx, report)
}

// WatchAssignments calls handle with every assignment set the master
// pushes, without the peer list (the caller has no overlay to program),
// until the stream breaks or ctx ends.
func (ch *Channel) WatchAssignments(ctx context.Context, nodeID string, handle func(*orchpb.AssignmentSet)) error {
	return ch.conn.watchAssignments(ctx, nodeID, false, handle)
}
