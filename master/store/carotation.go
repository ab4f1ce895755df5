package store

import (
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// The phases of a CA rotation (docs/ca-rotation.md): RotateCA moves the
// cluster config from one to the next. Each is idempotent, so a new leader
// can propose again the step its predecessor may or may not have committed.
const (
	CAPhaseTrust  = "trust"
	CAPhaseSign   = "sign"
	CAPhaseRetire = "retire"
	CAPhaseAbort  = "abort"
)

// rotateCA applies RotateCA. The only way the cluster CA changes: trust
// (masters and nodes trust both CAs), sign (the next CA signs), retire
// (the next CA is the CA; the old one's key is forgotten). abort is allowed
// in trust only, when nothing is signed by the next CA yet.
func (s *Store) rotateCA(c *orchpb.RotateCA) *orchpb.CommandResult {
	cfg := s.config
	if cfg.GetCaCertPem() == "" {
		return fail(s.index, orchpb.ResultInvalid, "rotate CA: the cluster has no CA yet")
	}
	rot, want := cfg.GetRotation(), c.GetRotation()
	next := proto.Clone(cfg).(*orchpb.ClusterConfig)
	switch c.GetPhase() {
	case CAPhaseTrust:
		if rot != nil {
			if rot.GetNextCertPem() == want.GetNextCertPem() {
				return &orchpb.CommandResult{} // proposed again
			}
			return fail(s.index, orchpb.ResultConflict, "rotate CA: a rotation is already under way (phase %s)", rot.GetPhase())
		}
		if want.GetNextCertPem() == "" || want.GetNextKeyPem() == "" || want.GetCrossPem() == "" {
			return fail(s.index, orchpb.ResultInvalid, "rotate CA: trust needs the next CA's certificate, key and cross certificate")
		}
		next.Rotation = proto.Clone(want).(*orchpb.CARotation)
		next.Rotation.Phase = CAPhaseTrust
	case CAPhaseSign:
		if res := sameRotation(s.index, "sign", rot, want); res != nil {
			return res
		}
		if rot.GetPhase() == CAPhaseSign {
			return &orchpb.CommandResult{}
		}
		next.Rotation.Phase, next.Rotation.SignAt = CAPhaseSign, c.GetAt()
	case CAPhaseRetire:
		if rot == nil && cfg.GetCaCertPem() == want.GetNextCertPem() {
			return &orchpb.CommandResult{} // already retired
		}
		if res := sameRotation(s.index, "retire", rot, want); res != nil {
			return res
		}
		if rot.GetPhase() != CAPhaseSign {
			return fail(s.index, orchpb.ResultConflict, "rotate CA: retire needs phase sign, the rotation is at %s", rot.GetPhase())
		}
		next.PreviousCertPem, next.CrossPem = cfg.GetCaCertPem(), rot.GetCrossPem()
		next.CaCertPem, next.CaKeyPem = rot.GetNextCertPem(), rot.GetNextKeyPem()
		next.Rotation = nil
	case CAPhaseAbort:
		if rot == nil {
			return &orchpb.CommandResult{}
		}
		if rot.GetPhase() != CAPhaseTrust {
			return fail(s.index, orchpb.ResultConflict, "rotate CA: abort is allowed in phase trust only, the rotation is at %s: finish it", rot.GetPhase())
		}
		next.Rotation = nil
	default:
		return fail(s.index, orchpb.ResultInvalid, "rotate CA: unknown phase %q", c.GetPhase())
	}
	s.config = next
	return &orchpb.CommandResult{}
}

// sameRotation fails unless a rotation is under way and want names it.
func sameRotation(index uint64, step string, rot, want *orchpb.CARotation) *orchpb.CommandResult {
	if rot == nil {
		return fail(index, orchpb.ResultConflict, "rotate CA: %s: no rotation is under way", step)
	}
	if rot.GetNextCertPem() != want.GetNextCertPem() {
		return fail(index, orchpb.ResultConflict, "rotate CA: %s names another rotation than the one under way", step)
	}
	return nil
}

// reportNodeTrust records which CAs a node trusts and which CA issued its
// client certificate; the rotation controller waits on them.
func (s *Store) reportNodeTrust(index uint64, c *orchpb.ReportNodeTrust) *orchpb.CommandResult {
	old := s.nodes[c.GetNodeId()]
	if old == nil {
		return fail(index, orchpb.ResultNotFound, "report node trust: node %s not found", c.GetNodeId())
	}
	if old.GetTrustDigest() == c.GetTrustDigest() && old.GetCertCaDigest() == c.GetCertCaDigest() {
		return &orchpb.CommandResult{}
	}
	n := proto.Clone(old).(*orchpb.Node)
	if c.GetTrustDigest() != "" {
		n.TrustDigest = c.GetTrustDigest()
	}
	if c.GetCertCaDigest() != "" {
		n.CertCaDigest = c.GetCertCaDigest()
	}
	n.Version = index
	s.storeNode(n)
	s.emit(EventPut, KindNode, n)
	return &orchpb.CommandResult{}
}

// TrustPEM is every CA the cluster's members must trust under cfg: the
// CA, and the next one while a rotation is under way.
func TrustPEM(cfg *orchpb.ClusterConfig) string {
	return cfg.GetCaCertPem() + cfg.GetRotation().GetNextCertPem()
}
