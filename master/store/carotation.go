package store

import (
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// The phases of a CA replacement (docs/ca-rotation.md), in order.
const (
	CAPhaseTrust  = "trust"
	CAPhaseSign   = "sign"
	CAPhaseRetire = "retire"
	CAPhaseAbort  = "abort"
)

// rotateCA moves a CA replacement on. Each step is idempotent, so that a
// new leader may propose again what its predecessor did: trust starts a
// rotation (or repeats the one under way with the same next CA), sign
// follows trust, retire follows sign and makes the next CA the cluster's,
// and abort undoes a rotation still in trust. Nothing else changes the CA.
func (s *Store) rotateCA(index uint64, c *orchpb.RotateCA) *orchpb.CommandResult {
	cfg := s.config
	if cfg.GetCaCertPem() == "" {
		return fail(index, orchpb.ResultInvalid, "rotate CA: the cluster has no CA yet")
	}
	cur := cfg.GetRotation()
	next := proto.Clone(cfg).(*orchpb.ClusterConfig)
	switch c.GetPhase() {
	case CAPhaseTrust:
		r := c.GetRotation()
		if r.GetNextCertPem() == "" || r.GetNextKeyPem() == "" || r.GetCrossPem() == "" {
			return fail(index, orchpb.ResultInvalid, "rotate CA: rotation: the next CA's certificate, key and cross certificate are required")
		}
		if cur != nil {
			if cur.GetNextCertPem() == r.GetNextCertPem() && cur.GetPhase() == CAPhaseTrust {
				return &orchpb.CommandResult{}
			}
			return fail(index, orchpb.ResultConflict, "rotate CA: a rotation is already under way (phase %s): finish it first", cur.GetPhase())
		}
		next.Rotation = proto.Clone(r).(*orchpb.CARotation)
		next.Rotation.Phase = CAPhaseTrust
	case CAPhaseSign:
		if cur == nil {
			return fail(index, orchpb.ResultConflict, "rotate CA: no rotation is under way")
		}
		if cur.GetPhase() == CAPhaseSign {
			return &orchpb.CommandResult{}
		}
		next.Rotation.Phase = CAPhaseSign
		next.Rotation.SignAtUnixMs = c.GetRotation().GetSignAtUnixMs()
	case CAPhaseRetire:
		if cur.GetPhase() != CAPhaseSign {
			return fail(index, orchpb.ResultConflict, "rotate CA: retire follows the sign phase; the rotation is at %q", cur.GetPhase())
		}
		next.PreviousCertPem, next.CrossPem = cfg.GetCaCertPem(), cur.GetCrossPem()
		next.CaCertPem, next.CaKeyPem = cur.GetNextCertPem(), cur.GetNextKeyPem()
		next.Rotation = nil
	case CAPhaseAbort:
		if cur.GetPhase() != CAPhaseTrust {
			return fail(index, orchpb.ResultConflict, "rotate CA: only a rotation in the trust phase can be aborted (it is at %q): finish it, or rotate again", cur.GetPhase())
		}
		next.Rotation = nil
	default:
		return fail(index, orchpb.ResultInvalid, "rotate CA: phase: %q is not trust, sign, retire or abort", c.GetPhase())
	}
	s.config = next
	return &orchpb.CommandResult{}
}

// recordNodeTrust keeps what a node reported of its CAs, when it reported
// anything new.
func (s *Store) recordNodeTrust(nodeID, caDigest, certIssuer string) {
	n := s.nodes[nodeID]
	if caDigest == "" || n == nil || (n.GetCaDigest() == caDigest && n.GetCertIssuer() == certIssuer) {
		return
	}
	nn := proto.Clone(n).(*orchpb.Node)
	nn.CaDigest, nn.CertIssuer = caDigest, certIssuer
	s.storeNode(nn)
	s.emit(EventPut, KindNode, nn)
}

// TrustIsNews reports whether a node's report of its CAs would change the
// store (the dispatcher proposes only then).
func (s *Store) TrustIsNews(nodeID, caDigest, certIssuer string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := s.nodes[nodeID]
	return caDigest != "" && n != nil && (n.GetCaDigest() != caDigest || n.GetCertIssuer() != certIssuer)
}
