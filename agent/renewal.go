package agent

import (
	"context"
	"time"

	"github.com/orch-io/orch/pki"
)

// renewPoll is how often the renewal loop looks again while the node has
// no client certificate yet (its first registration is still retrying).
const renewPoll = time.Second

// runCertRenewal registers again, with the node's current client
// certificate, before two thirds of that certificate's validity: the
// answer carries fresh certificates, which register saves and swaps in
// without a restart. Until ctx ends.
func (a *Agent) runCertRenewal(ctx context.Context, agentAddr string) {
	for pki.WaitRenewal(ctx, a.conn.cert.Load(), renewPoll) == nil {
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
