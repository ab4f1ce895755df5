package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"fmt"
	"sync"
	"time"

	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// Channel is the agent's end of the agent channel (join, register, the
// assignment stream, status reports), for programs that speak it without
// running containers: the hollow agent of scale tests. It is the agent's
// own code, so what it measures is the real protocol.
type Channel struct {
	conn *masterConn
	// pending is the key of a registration not answered yet, asked for
	// again by the next attempt, as the agent's agent.key.new is.
	mu      sync.Mutex
	pending *ecdsa.PrivateKey
}

// NewChannel talks to masters (API URLs, tried in turn) with token,
// trusting ca. Each channel is one node: after Register it calls as that
// node, with the client certificate the masters signed.
func NewChannel(masters []string, token string, caPEM []byte) (*Channel, error) {
	trust, err := newCATrust(caPEM)
	if err != nil {
		return nil, err
	}
	return &Channel{conn: newMasterConn(masters, token, trust)}, nil
}

// SetHeartbeatInterval sets how often the node beats up its assignment
// stream (default 1s); call it before WatchAssignments.
func (ch *Channel) SetHeartbeatInterval(d time.Duration) {
	if d > 0 {
		ch.conn.beatEvery = d
	}
}

// FetchCA downloads the cluster CA from masterURL and checks it against
// the digest the join token carries, before the token is ever sent.
func FetchCA(ctx context.Context, masterURL, token string) ([]byte, error) {
	return fetchCA(ctx, masterURL, token)
}

// Register adds or refreshes the node, with a key made for it (kept in
// memory only), and takes the client certificate the masters sign for
// every later call.
func (ch *Channel) Register(ctx context.Context, reg *orchpb.NodeRegistration) (*orchpb.NodeRegistrationResponse, error) {
	key, err := ch.pendingKey()
	if err != nil {
		return nil, err
	}
	csr, err := pki.CSRFor(pki.NodePrefix+reg.GetName(), key)
	if err != nil {
		return nil, err
	}
	reg = proto.Clone(reg).(*orchpb.NodeRegistration)
	reg.CsrPem = string(csr)
	resp, err := ch.conn.register(ctx, reg)
	if err != nil {
		return nil, err
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair([]byte(resp.GetCertificatePem()), keyPEM)
	if err != nil {
		return nil, fmt.Errorf("agent: the certificate of node %s: %w", reg.GetName(), err)
	}
	ch.conn.setCertificate(&cert)
	ch.mu.Lock()
	ch.pending = nil
	ch.mu.Unlock()
	return resp, nil
}

// pendingKey is the key of the registration not answered yet, or a new
// one.
func (ch *Channel) pendingKey() (*ecdsa.PrivateKey, error) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.pending == nil {
		key, err := pki.NewKey()
		if err != nil {
			return nil, err
		}
		ch.pending = key
	}
	return ch.pending, nil
}

// ReportStatus sends the node's heartbeat. report lists the status of
// every replica the node knows; only those the masters have not taken yet
// go out (all of them to a master heard for the first time, and every
// 30 s).
func (ch *Channel) ReportStatus(ctx context.Context, report *orchpb.StatusReport) error {
	return ch.conn.reportStatus(ctx, report)
}

// WatchAssignments calls handle with the node's whole assignment set at
// the start of the stream, after each change the master pushes and at each
// keepalive, until the stream breaks or ctx ends. Without peers the master
// leaves out the peer list; with peers it sends them (so that its fan-out
// is what an overlay agent costs) and the channel drops them on arrival:
// its callers have no overlay to program.
func (ch *Channel) WatchAssignments(ctx context.Context, nodeID string, peers bool, handle func(*orchpb.AssignmentSet)) error {
	ch.conn.sets.discardPeers = true
	return ch.conn.watchAssignments(ctx, nodeID, peers, handle)
}

// WaitRenewal waits until the node's client certificate is due for
// renewal (by Register again), or for retry before the first registration.
// It returns ctx's error when ctx ends first.
func (ch *Channel) WaitRenewal(ctx context.Context, retry time.Duration) error {
	return ch.conn.trust.waitRenewal(ctx, ch.conn.cert.Load(), retry)
}
