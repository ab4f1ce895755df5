package agent

import (
	"context"
	"crypto/tls"
	"time"

	"github.com/orch-io/orch/pki"
)

// renewPoll is how often the renewal loop looks again while the node has
// no client certificate yet (its first registration is still retrying).
const renewPoll = time.Second

// warnIfExpired tells the operator what to do about a client certificate
// that ran out while the agent was down: the masters refuse it at the
// handshake, and the join token admits new names only, so the node must be
// removed and joined again.
func (a *Agent) warnIfExpired(cert *tls.Certificate) {
	if leaf, err := pki.LeafOf(cert); err == nil && time.Now().After(leaf.NotAfter) {
		a.log.Error("the node's certificate has expired: remove the node (orchctl node remove NAME) and join it again",
			"expired", leaf.NotAfter)
	}
}

// runCertRenewal registers again, with the node's current client
// certificate, before two thirds of that certificate's validity: the
// answer carries fresh certificates, which register saves and swaps in
// without a restart. Until ctx ends.
func (a *Agent) runCertRenewal(ctx context.Context, agentAddr string) {
	for a.conn.trust.waitRenewal(ctx, a.conn.cert.Load(), renewPoll) == nil {
		if a.conn.cert.Load() == nil {
			continue
		}
		register := func() (struct{}, error) { return struct{}{}, a.register(ctx, agentAddr) }
		if _, err := retry(ctx, a.log, "renew the node's certificates", register); err != nil {
			return // ctx ended
		}
		a.log.Info("renewed the node's certificates")
	}
}
