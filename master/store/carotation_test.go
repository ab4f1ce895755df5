package store

import (
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

func rotate(phase string, r *orchpb.CARotation) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_RotateCa{RotateCa: &orchpb.RotateCA{Phase: phase, Rotation: r}}}
}

// TestRotateCAPhases: trust, sign and retire in order, each idempotent;
// abort only in trust; SetClusterConfig neither replaces the CA nor drops
// a rotation; a snapshot carries the rotation.
func TestRotateCAPhases(t *testing.T) {
	s := New()
	var index uint64
	apply := func(cmd *orchpb.Command, wantErr string) {
		t.Helper()
		index++
		res := s.Apply(index, cmd)
		if wantErr == "" && res.GetErrorCode() != "" {
			t.Fatalf("apply: %s", res.GetError())
		}
		if wantErr != "" && !strings.Contains(res.GetError(), wantErr) {
			t.Fatalf("apply: error %q, want one with %q", res.GetError(), wantErr)
		}
	}
	apply(rotate(CAPhaseTrust, &orchpb.CARotation{NextCertPem: "B", NextKeyPem: "BK", CrossPem: "X"}), "no CA yet")
	setConfig := func(cfg *orchpb.ClusterConfig) *orchpb.Command {
		return &orchpb.Command{Op: &orchpb.Command_SetClusterConfig{SetClusterConfig: &orchpb.SetClusterConfig{Config: cfg}}}
	}
	apply(setConfig(&orchpb.ClusterConfig{ClusterCidr: "10.224.0.0/11", CaCertPem: "A", CaKeyPem: "AK"}), "")
	apply(rotate(CAPhaseSign, nil), "no rotation")
	apply(rotate(CAPhaseTrust, &orchpb.CARotation{NextCertPem: "B"}), "are required")
	next := &orchpb.CARotation{NextCertPem: "B", NextKeyPem: "BK", CrossPem: "X"}
	apply(rotate(CAPhaseTrust, next), "")
	apply(rotate(CAPhaseTrust, next), "")
	apply(rotate(CAPhaseTrust, &orchpb.CARotation{NextCertPem: "C", NextKeyPem: "CK", CrossPem: "Y"}), "already under way")
	apply(rotate(CAPhaseRetire, nil), "retire follows the sign phase")
	apply(setConfig(&orchpb.ClusterConfig{ClusterCidr: "10.224.0.0/11"}), "")
	if s.Config().GetRotation().GetPhase() != CAPhaseTrust {
		t.Fatal("a SetClusterConfig dropped the rotation")
	}
	apply(rotate(CAPhaseSign, &orchpb.CARotation{SignAtUnixMs: 42}), "")
	apply(rotate(CAPhaseSign, nil), "")
	apply(rotate(CAPhaseAbort, nil), "only a rotation in the trust phase")

	restored := New()
	restored.Restore(s.Snapshot())
	if r := restored.Config().GetRotation(); r.GetPhase() != CAPhaseSign || r.GetSignAtUnixMs() != 42 {
		t.Fatalf("restored rotation %v", r)
	}

	apply(rotate(CAPhaseRetire, nil), "")
	cfg := s.Config()
	if cfg.GetCaCertPem() != "B" || cfg.GetCaKeyPem() != "BK" || cfg.GetPreviousCertPem() != "A" || cfg.GetCrossPem() != "X" || cfg.GetRotation() != nil {
		t.Fatalf("after retire: ca %q key %q previous %q cross %q rotation %v", cfg.GetCaCertPem(), cfg.GetCaKeyPem(), cfg.GetPreviousCertPem(), cfg.GetCrossPem(), cfg.GetRotation())
	}
	apply(setConfig(&orchpb.ClusterConfig{CaCertPem: "A", CaKeyPem: "AK"}), "cannot be replaced")
	apply(rotate(CAPhaseRetire, nil), "retire follows the sign phase")
	apply(rotate(CAPhaseTrust, &orchpb.CARotation{NextCertPem: "C", NextKeyPem: "CK", CrossPem: "Y"}), "")
	apply(rotate(CAPhaseAbort, nil), "")
	if s.Config().GetRotation() != nil || s.Config().GetCaCertPem() != "B" {
		t.Fatal("abort did not go back to no rotation on the current CA")
	}
	apply(rotate("later", nil), "phase")
}
