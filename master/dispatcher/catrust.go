package dispatcher

import (
	"context"
	"crypto/tls"

	"github.com/orch-io/orch/master/store"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// The agent channel's part in a CA rotation (docs/ca-rotation.md): each
// assignment set carries the CAs the node must trust and, from phase
// sign, the time before which its client certificate must be renewed;
// each status report says what the node trusts, and the master sees which
// CA issued the certificate it called with. Both are recorded (only when
// they change) for the rotation controller.

// trustOf is the bundle of CAs an agent's certificate may chain to; with
// no authority (tests of the API alone) an empty pool that trusts nothing.
func trustOf(ca *pki.Authority) *pki.TrustBundle {
	if ca == nil {
		return &pki.TrustBundle{}
	}
	return ca.Trust()
}

// addCATrust fills set's CA fields from the replicated rotation state.
func (d *Dispatcher) addCATrust(set *orchpb.AssignmentSet) {
	cfg := d.deps.Store.Config()
	set.CaBundlePem = store.TrustPEM(cfg)
	if rot := cfg.GetRotation(); rot.GetPhase() == store.CAPhaseSign {
		set.RenewBefore = rot.GetSignAt()
	}
}

// wakeOnCAChange wakes every stream when the CAs to trust or the
// rotation's phase change (the cluster config makes no store event: it
// holds the CA key), until ctx ends.
func wakeOnCAChange(ctx context.Context, st *store.Store, wakeAll func()) {
	changed, cancel := st.Notify()
	defer cancel()
	last := caState(st.Config())
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		if now := caState(st.Config()); now != last {
			last = now
			wakeAll()
		}
	}
}

func caState(cfg *orchpb.ClusterConfig) string {
	return store.TrustPEM(cfg) + "/" + cfg.GetRotation().GetPhase()
}

// recordTrust records what node trusts and which CA issued the client
// certificate of the connection cs, once a rotation has been started.
func (d *Dispatcher) recordTrust(ctx context.Context, node *orchpb.Node, report *orchpb.StatusReport, cs *tls.ConnectionState) {
	cfg := d.deps.Store.Config()
	if d.deps.CA == nil || (cfg.GetRotation() == nil && cfg.GetPreviousCertPem() == "") {
		return
	}
	certCA := ""
	if cs != nil && len(cs.VerifiedChains) > 0 {
		chain := cs.VerifiedChains[0]
		certCA = pki.CertDigest(chain[len(chain)-1].Raw)
	}
	trust := report.GetCaDigest()
	if trust == node.GetTrustDigest() && (certCA == "" || certCA == node.GetCertCaDigest()) {
		return
	}
	cmd := &orchpb.Command{Op: &orchpb.Command_ReportNodeTrust{ReportNodeTrust: &orchpb.ReportNodeTrust{
		NodeId: node.GetId(), TrustDigest: trust, CertCaDigest: certCA}}}
	if _, err := d.deps.Proposer.Apply(ctx, cmd); err != nil {
		d.log.Debug("node trust not recorded", "node", node.GetName(), "err", err)
	}
}
