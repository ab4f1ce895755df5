package store

import (
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// caRotationStore is a store with a CA (A) and one node, and the rotation
// to B its tests propose.
func caRotationStore(t *testing.T) (*Store, *orchpb.CARotation, *uint64) {
	t.Helper()
	s := New()
	idx := uint64(0)
	apply := func(cmd *orchpb.Command) {
		idx++
		if res := s.Apply(idx, cmd); res.GetErrorCode() != "" {
			t.Fatalf("setup: %s", res.GetError())
		}
	}
	apply(&orchpb.Command{Op: &orchpb.Command_SetClusterConfig{SetClusterConfig: &orchpb.SetClusterConfig{Config: &orchpb.ClusterConfig{
		ClusterCidr: "10.0.0.0/16", CaCertPem: "A-cert", CaKeyPem: "A-key"}}}})
	apply(&orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: &orchpb.Node{Id: "n1", Name: "n1"}}}})
	return s, &orchpb.CARotation{NextCertPem: "B-cert", NextKeyPem: "B-key", CrossPem: "cross", StartedAt: 5}, &idx
}

func rotate(phase string, rot *orchpb.CARotation, at int64) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_RotateCa{RotateCa: &orchpb.RotateCA{Phase: phase, Rotation: rot, At: at}}}
}

func TestRotateCAPhasesAreIdempotentAndEndWithB(t *testing.T) {
	s, rot, idx := caRotationStore(t)
	step := func(phase string, wantCode string) {
		t.Helper()
		*idx++
		if res := s.Apply(*idx, rotate(phase, rot, 42)); res.GetErrorCode() != wantCode {
			t.Fatalf("%s: got %q (%s), want %q", phase, res.GetErrorCode(), res.GetError(), wantCode)
		}
	}
	step(CAPhaseRetire, orchpb.ResultConflict) // nothing under way
	step(CAPhaseTrust, "")
	step(CAPhaseTrust, "")                     // again: a new leader may propose it twice
	step(CAPhaseRetire, orchpb.ResultConflict) // not signed yet
	if got := s.Config().GetRotation().GetPhase(); got != CAPhaseTrust {
		t.Fatalf("phase %q, want trust", got)
	}
	other := &orchpb.CARotation{NextCertPem: "C-cert", NextKeyPem: "C-key", CrossPem: "x"}
	*idx++
	if res := s.Apply(*idx, rotate(CAPhaseTrust, other, 0)); res.GetErrorCode() != orchpb.ResultConflict {
		t.Fatalf("a second rotation was accepted: %v", res)
	}
	step(CAPhaseSign, "")
	step(CAPhaseSign, "")
	if got := s.Config().GetRotation(); got.GetPhase() != CAPhaseSign || got.GetSignAt() != 42 {
		t.Fatalf("after sign: %v", got)
	}
	step(CAPhaseAbort, orchpb.ResultConflict) // past trust: finish it
	assertRoundTrip(t, s)                     // a backup mid-rotation resumes it
	step(CAPhaseRetire, "")
	step(CAPhaseRetire, "")
	cfg := s.Config()
	if cfg.GetCaCertPem() != "B-cert" || cfg.GetCaKeyPem() != "B-key" || cfg.GetPreviousCertPem() != "A-cert" ||
		cfg.GetCrossPem() != "cross" || cfg.GetRotation() != nil {
		t.Fatalf("after retire: %v", cfg)
	}
	assertRoundTrip(t, s)
}

func TestRotateCAAbortOnlyInTrust(t *testing.T) {
	s, rot, idx := caRotationStore(t)
	for _, cmd := range []*orchpb.Command{rotate(CAPhaseAbort, nil, 0), rotate(CAPhaseTrust, rot, 0), rotate(CAPhaseAbort, nil, 0)} {
		*idx++
		if res := s.Apply(*idx, cmd); res.GetErrorCode() != "" {
			t.Fatalf("%v: %s", cmd, res.GetError())
		}
	}
	if cfg := s.Config(); cfg.GetRotation() != nil || cfg.GetCaCertPem() != "A-cert" {
		t.Fatalf("abort left %v", cfg)
	}
}

func TestSetClusterConfigStillRefusesACAChangeAndKeepsTheRotation(t *testing.T) {
	s, rot, idx := caRotationStore(t)
	*idx++
	s.Apply(*idx, rotate(CAPhaseTrust, rot, 0))
	*idx++
	res := s.Apply(*idx, &orchpb.Command{Op: &orchpb.Command_SetClusterConfig{SetClusterConfig: &orchpb.SetClusterConfig{Config: &orchpb.ClusterConfig{
		CaCertPem: "B-cert", CaKeyPem: "B-key"}}}})
	if res.GetErrorCode() != orchpb.ResultInvalid {
		t.Fatalf("SetClusterConfig replaced the CA: %v", res)
	}
	*idx++
	res = s.Apply(*idx, &orchpb.Command{Op: &orchpb.Command_SetClusterConfig{SetClusterConfig: &orchpb.SetClusterConfig{Config: &orchpb.ClusterConfig{
		ClusterCidr: "10.0.0.0/16"}}}})
	if res.GetErrorCode() != "" || s.Config().GetRotation().GetNextCertPem() != "B-cert" {
		t.Fatalf("SetClusterConfig dropped the rotation: %v %v", res, s.Config())
	}
}

func TestReportNodeTrust(t *testing.T) {
	s, _, idx := caRotationStore(t)
	*idx++
	cmd := &orchpb.Command{Op: &orchpb.Command_ReportNodeTrust{ReportNodeTrust: &orchpb.ReportNodeTrust{NodeId: "n1", TrustDigest: "ab", CertCaDigest: "cd"}}}
	if res := s.Apply(*idx, cmd); res.GetErrorCode() != "" {
		t.Fatal(res.GetError())
	}
	if n := s.Node("n1"); n.GetTrustDigest() != "ab" || n.GetCertCaDigest() != "cd" || n.GetVersion() != *idx {
		t.Fatalf("node %v", n)
	}
	*idx++
	if res := s.Apply(*idx, &orchpb.Command{Op: &orchpb.Command_ReportNodeTrust{ReportNodeTrust: &orchpb.ReportNodeTrust{NodeId: "nope"}}}); res.GetErrorCode() != orchpb.ResultNotFound {
		t.Fatalf("unknown node: %v", res)
	}
	assertRoundTrip(t, s)
}
