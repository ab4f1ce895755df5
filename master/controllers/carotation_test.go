package controllers

import (
	"context"
	"testing"

	"github.com/orch-io/orch/master/store"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// TestCARotationWaitsForEveryoneThenMovesOn: the controller moves from
// trust to sign only once every master and every live node trusts both
// CAs (a down node is not waited for), and from sign to retire only once
// each holds a certificate B signed (a down node is, unless forced).
func TestCARotationWaitsForEveryoneThenMovesOn(t *testing.T) {
	c := newCluster(t)
	a, _ := pki.NewCA()
	b, _ := pki.NewCA()
	cross, _ := a.CrossSign(b)
	c.apply(&orchpb.Command{Op: &orchpb.Command_SetClusterConfig{SetClusterConfig: &orchpb.SetClusterConfig{Config: &orchpb.ClusterConfig{
		ClusterCidr: "10.0.0.0/16", CaCertPem: string(a.CertPEM), CaKeyPem: string(a.KeyPEM())}}}})
	c.apply(&orchpb.Command{Op: &orchpb.Command_PutMaster{PutMaster: &orchpb.PutMaster{Master: &orchpb.Master{Id: "m1"}}}})
	live, gone := c.node("live", 1000), c.node("gone", 1000)
	c.apply(&orchpb.Command{Op: &orchpb.Command_SetNodeState{SetNodeState: &orchpb.SetNodeState{NodeId: gone, State: string(orchpb.NodeDown)}}})
	c.apply(&orchpb.Command{Op: &orchpb.Command_RotateCa{RotateCa: &orchpb.RotateCA{Phase: store.CAPhaseTrust, Rotation: &orchpb.CARotation{
		NextCertPem: string(b.CertPEM), NextKeyPem: string(b.KeyPEM()), CrossPem: string(cross)}}}})
	ctrl := NewCARotationController(CARotationDeps{Store: c.st, Proposer: proposer{c}})
	step := func(want string) {
		t.Helper()
		if err := ctrl.step(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := c.st.Config().GetRotation().GetPhase(); got != want {
			t.Fatalf("phase %q, want %q (%+v)", got, want, c.st.CARotationStatus())
		}
	}
	both := pki.BundleDigest([]byte(store.TrustPEM(c.st.Config())))
	master := func(certCA string) {
		c.apply(&orchpb.Command{Op: &orchpb.Command_PutMaster{PutMaster: &orchpb.PutMaster{Master: &orchpb.Master{Id: "m1", TrustDigest: both, CertCaDigest: certCA}}}})
	}
	node := func(id, certCA string) {
		c.apply(&orchpb.Command{Op: &orchpb.Command_ReportNodeTrust{ReportNodeTrust: &orchpb.ReportNodeTrust{NodeId: id, TrustDigest: both, CertCaDigest: certCA}}})
	}
	step(store.CAPhaseTrust)
	master(a.Digest())
	step(store.CAPhaseTrust) // the live node does not trust B yet
	node(live, a.Digest())
	step(store.CAPhaseSign) // the down node is not waited for
	master(b.Digest())
	node(live, b.Digest())
	step(store.CAPhaseSign) // the down node still holds an A certificate
	node(gone, b.Digest())
	step("")
	if cfg := c.st.Config(); cfg.GetCaCertPem() != string(b.CertPEM) || cfg.GetPreviousCertPem() != string(a.CertPEM) {
		t.Fatal("retire did not make B the cluster CA")
	}
}
