package agent

import (
	"context"
	"crypto/tls"
	"sync/atomic"
	"time"

	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// The agent's part in a CA rotation (docs/ca-rotation.md): the masters
// send in every assignment set the CAs to trust; the agent rewrites
// DATA/ca.crt with them and swaps them into its TLS configs (both read
// the bundle at each handshake), and reports the bundle's digest with its
// status. From phase sign the set says before when a client certificate
// must have been issued; an older one is renewed at once by registering
// again, with the certificate the old CA signed, which the masters still
// trust.

// caRotation is the agent's rotation state. Safe for concurrent use.
type caRotation struct {
	// registeredAt is when the last registration succeeded (unix
	// milliseconds): its certificates are at least that recent.
	registeredAt atomic.Int64
	// renew wakes runRotationRenewal.
	renew chan struct{}
}

func (r *caRotation) registered(at time.Time) { r.registeredAt.Store(at.UnixMilli()) }

// newTrustingMasterConn is a masterConn that verifies the masters against
// trust as it is at each handshake and reports its digest.
func newTrustingMasterConn(urls []string, token string, trust *pki.TrustBundle) *masterConn {
	c := newMasterConnWith(urls, token, func(tc *tls.Config) *tls.Config {
		// A certificate the CA signed is not enough: every node holds
		// one. Only a master's may receive the token and the reports.
		return trust.ClientConfig(tc, pki.CheckServerIsMaster)
	})
	c.trust = trust
	return c
}

// applyCATrust takes up the CA fields of an assignment set.
func (a *Agent) applyCATrust(set *orchpb.AssignmentSet) {
	trust := a.conn.trust
	if bundle := set.GetCaBundlePem(); trust != nil && bundle != "" && pki.BundleDigest([]byte(bundle)) != trust.Digest() {
		if err := a.saveTrust([]byte(bundle)); err != nil {
			a.log.Error("could not take up the cluster's CAs", "err", err)
		} else {
			a.log.Info("the cluster's CAs changed: trusting the new bundle", "digest", trust.Digest()[:12])
			// Tell the masters now rather than at the next heartbeat.
			if a.reporter != nil {
				a.reporter.changed()
			}
		}
	}
	if before := set.GetRenewBefore(); before != 0 && (a.rotation.registeredAt.Load() < before || !a.issuedByNext()) {
		select {
		case a.rotation.renew <- struct{}{}:
		default:
		}
	}
}

// issuedByNext reports whether the node's client certificate was issued
// by the next CA, the last of the bundle during a rotation (a master that
// had not applied phase sign yet may have signed a renewal with the old).
func (a *Agent) issuedByNext() bool {
	certs := a.conn.trust.Certs()
	leaf, err := pki.LeafOf(a.conn.cert.Load())
	return err == nil && len(certs) > 0 && leaf.CheckSignatureFrom(certs[len(certs)-1]) == nil
}

// saveTrust writes the bundle to ca.crt, so that a restarted agent trusts
// it, then swaps it in.
func (a *Agent) saveTrust(bundle []byte) error {
	if _, err := pki.NewTrustBundle(bundle); err != nil {
		return err
	}
	if err := writeAtomic(a.dir.path("ca.crt"), bundle, 0o644); err != nil {
		return err
	}
	return a.conn.trust.Set(bundle)
}

// runRotationRenewal registers again whenever a set says the client
// certificate is too old, until ctx ends.
func (a *Agent) runRotationRenewal(ctx context.Context, agentAddr string) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.rotation.renew:
		}
		if a.rotation.registeredAt.Load() == 0 {
			continue // the first registration is still under way
		}
		register := func() (struct{}, error) { return struct{}{}, a.register(ctx, agentAddr) }
		if _, err := retry(ctx, a.log, "renew the node's certificates for the new CA", register); err != nil {
			return
		}
		a.log.Info("renewed the node's certificates: the cluster's CA is being replaced")
	}
}
