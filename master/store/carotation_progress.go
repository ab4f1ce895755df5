package store

import (
	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// CARotationStatus is how far the masters and nodes have caught up with
// the CA rotation under way, from their records: in trust, who trusts
// both CAs; in sign, whose certificate the new CA signed. A node that is
// down is not waited for in trust (its stream gives it the bundle when it
// returns, and it still presents a certificate the old CA signed); in
// sign it is, unless the rotation was forced.
func (s *Store) CARotationStatus() *api.CARotationStatus {
	cfg := s.Config()
	st := &api.CARotationStatus{}
	if ca, err := pki.ParseCertPEM([]byte(cfg.GetCaCertPem())); err == nil {
		st.CA = pki.CertDigest(ca.Raw)
	}
	rot := cfg.GetRotation()
	if rot == nil {
		return st
	}
	st.Phase, st.Force = rot.GetPhase(), rot.GetForce()
	if next, err := pki.ParseCertPEM([]byte(rot.GetNextCertPem())); err == nil {
		st.Next = pki.CertDigest(next.Raw)
	}
	trust := pki.BundleDigest([]byte(TrustPEM(cfg)))
	caughtUp := func(trustDigest, certCA string) bool {
		if rot.GetPhase() == CAPhaseSign {
			return trustDigest == trust && certCA == st.Next
		}
		return trustDigest == trust
	}
	for _, m := range s.Masters() {
		st.Masters.Total++
		if caughtUp(m.GetTrustDigest(), m.GetCertCaDigest()) {
			st.Masters.Ready++
		} else {
			st.Waiting = append(st.Waiting, "master "+m.GetId())
		}
	}
	for _, n := range s.Nodes() {
		st.Nodes.Total++
		switch down := n.Status() == orchpb.NodeDown; {
		case caughtUp(n.GetTrustDigest(), n.GetCertCaDigest()):
			st.Nodes.Ready++
		case down && (rot.GetPhase() == CAPhaseTrust || rot.GetForce()):
			st.Down = append(st.Down, n.GetName())
		default:
			st.Waiting = append(st.Waiting, "node "+n.GetName())
		}
	}
	st.Ready = len(st.Waiting) == 0
	return st
}
