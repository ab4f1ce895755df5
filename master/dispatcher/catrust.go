package dispatcher

import "github.com/orch-io/orch/pki"

// trustOf is the bundle of CAs an agent's certificate may chain to; with
// no authority (tests of the API alone) an empty pool that trusts nothing.
func trustOf(ca *pki.Authority) *pki.TrustBundle {
	if ca == nil {
		return &pki.TrustBundle{}
	}
	return ca.Trust()
}
