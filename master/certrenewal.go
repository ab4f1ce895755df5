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
	due := m.cert.Load()
	for pki.WaitRenewal(ctx, due, renewRetry) == nil {
		cert, err := m.ca.IssueMaster(m.certHosts)
		if err != nil {
			m.log.Error("could not renew this master's certificate", "err", err)
			due = nil // try again after renewRetry
			continue
		}
		m.cert.Store(cert)
		due = m.cert.Load()
		m.log.Info("renewed this master's certificate", "expires", due.Leaf.NotAfter)
	}
}
