package master

import (
	"context"
	"time"

	"github.com/orch-io/orch/pki"
)

// renewRetry is how long a master waits to try again when it could not
// issue its own certificate (it holds the CA key, so this is rare).
const renewRetry = 10 * time.Second

// runCertRenewal replaces this master's certificate at two thirds of its
// validity, until ctx ends. Every TLS config of the master reads the
// certificate at each handshake (pki.LiveCert), so new connections get the
// new one and established connections keep the one they negotiated.
func (m *Master) runCertRenewal(ctx context.Context) {
	wait := renewWait(m.cert)
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		cert, err := m.ca.IssueMaster(m.certHosts)
		if err != nil {
			m.log.Error("could not renew this master's certificate", "err", err)
			wait = renewRetry
			continue
		}
		m.cert.Store(cert)
		wait = renewWait(m.cert)
		m.log.Info("renewed this master's certificate", "expires", m.cert.Load().Leaf.NotAfter)
	}
}

// renewWait is how long until cert is due for renewal.
func renewWait(cert *pki.LiveCert) time.Duration {
	leaf, err := pki.LeafOf(cert.Load())
	if err != nil {
		return renewRetry
	}
	return time.Until(pki.RenewAt(leaf.NotBefore, leaf.NotAfter))
}
