package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// caTrust is the CA bundle a node trusts: the cluster CA pinned at its
// first join, then what its assignment stream says, which during a CA
// replacement is two CAs (docs/ca-rotation.md). Every TLS handshake with
// a master, and every master calling the agent, is checked against it as
// it is at that moment.
type caTrust struct {
	mu     sync.Mutex
	pem    []byte
	pool   atomic.Pointer[x509.CertPool]
	digest atomic.Pointer[string]
	// saved, when set, keeps a new bundle on disk (the agent's ca.crt).
	saved func([]byte) error
	// renewNow is signalled when the stream asks for a client
	// certificate newer than the node's.
	renewNow chan struct{}
}

func newCATrust(bundlePEM []byte) (*caTrust, error) {
	t := &caTrust{renewNow: make(chan struct{}, 1)}
	if _, err := t.replace(bundlePEM); err != nil {
		return nil, err
	}
	return t, nil
}

// replace trusts bundlePEM from now on; it reports whether that changed
// anything.
func (t *caTrust) replace(bundlePEM []byte) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if bytes.Equal(bundlePEM, t.pem) {
		return false, nil
	}
	certs, err := pki.ParseBundle(bundlePEM)
	if err != nil {
		return false, fmt.Errorf("agent: the CA bundle: %w", err)
	}
	if t.saved != nil {
		if err := t.saved(bundlePEM); err != nil {
			return false, err
		}
	}
	t.pem = append([]byte(nil), bundlePEM...)
	t.pool.Store(pki.PoolOf(certs))
	d := pki.BundleDigest(bundlePEM)
	t.digest.Store(&d)
	return true, nil
}

func (t *caTrust) Pool() *x509.CertPool { return t.pool.Load() }

// Digest names the bundle trusted now, as status reports tell the masters.
func (t *caTrust) Digest() string { return *t.digest.Load() }

// verifyMaster checks, at the handshake, that a server is a master of this
// cluster by the CAs trusted now and answers for the name dialled.
func (t *caTrust) verifyMaster(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("agent: the master sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{DNSName: cs.ServerName, Roots: t.Pool(), Intermediates: inter}
	if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
		return fmt.Errorf("agent: the master's certificate: %w", err)
	}
	return pki.CheckServerIsMaster(cs)
}

// follow takes what an assignment set says about trust: the bundle to
// trust and, in a CA replacement's sign phase, the CA whose client
// certificate the node must hold (it renews when it holds another's).
func (t *caTrust) follow(set *orchpb.AssignmentSet, cert *tls.Certificate) error {
	if b := set.GetCaBundlePem(); b != "" {
		if _, err := t.replace([]byte(b)); err != nil {
			return err
		}
	}
	if want := set.GetRenewUnlessIssuer(); want != "" && cert != nil && issuerOf(cert) != want {
		select {
		case t.renewNow <- struct{}{}:
		default:
		}
	}
	return nil
}

// waitRenewal waits until cert is due for renewal, the stream asks for a
// newer one, or retry passes while there is no certificate yet.
func (t *caTrust) waitRenewal(ctx context.Context, cert *tls.Certificate, retry time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- pki.WaitRenewal(ctx, cert, retry) }()
	select {
	case err := <-done:
		return err
	case <-t.renewNow:
		return nil
	}
}

// issuerOf names the CA that signed the node's client certificate, as
// status reports tell the masters.
func issuerOf(cert *tls.Certificate) string {
	leaf, err := pki.LeafOf(cert)
	if err != nil {
		return ""
	}
	return pki.IssuerKeyID(leaf)
}
