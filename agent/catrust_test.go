package agent

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

func renewSignalled(t *caTrust) bool {
	select {
	case <-t.renewNow:
		return true
	default:
		return false
	}
}

// TestCATrustFollowsTheStream: a new bundle is saved and trusted (a
// master's chain through the cross certificate verifies against the old
// CA alone, and against the new one alone), and the node renews only
// while its certificate is not the signing CA's.
func TestCATrustFollowsTheStream(t *testing.T) {
	oldCA, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	newCA, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	trust := mustTrust(t, oldCA.CertPEM())
	var saved []byte
	trust.saved = func(b []byte) error { saved = b; return nil }

	nodeCert, err := oldCA.IssueServer("node:n1", nil)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := pki.BundleOf(oldCA.CertPEM(), newCA.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	set := &orchpb.AssignmentSet{CaBundlePem: string(bundle), RenewUnlessIssuer: pki.KeyID(newCA.Cert())}
	if err := trust.follow(set, &nodeCert); err != nil {
		t.Fatal(err)
	}
	if string(saved) != string(bundle) || trust.Digest() != pki.BundleDigest(bundle) {
		t.Fatal("the bundle of the stream was not saved and trusted")
	}
	if !renewSignalled(trust) {
		t.Fatal("a node holding the old CA's certificate was not told to renew")
	}
	renewed, err := newCA.IssueServer("node:n1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := trust.follow(set, &renewed); err != nil {
		t.Fatal(err)
	}
	if renewSignalled(trust) {
		t.Fatal("a node holding the new CA's certificate was told to renew again")
	}

	// A master in the sign phase: its leaf by the new CA, then the cross.
	signing, err := pki.ParseCA(oldCA.CertPEM(), oldCA.KeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	cross, err := oldCA.CrossSign(newCA)
	if err != nil {
		t.Fatal(err)
	}
	if err := signing.Adopt(oldCA, newCA, pki.PhaseSign, cross); err != nil {
		t.Fatal(err)
	}
	masterCert, err := signing.IssueMaster([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	for name, roots := range map[string][]byte{"the old CA": oldCA.CertPEM(), "the new CA": newCA.CertPEM(), "both": bundle} {
		onlyOne := mustTrust(t, roots)
		if err := onlyOne.verifyMaster(connState(t, masterCert)); err != nil {
			t.Errorf("trusting %s, the signing master is refused: %v", name, err)
		}
	}
}

// connState is what a client sees of a server presenting cert at
// 127.0.0.1.
func connState(t *testing.T, cert tls.Certificate) tls.ConnectionState {
	t.Helper()
	cs := tls.ConnectionState{ServerName: "127.0.0.1"}
	for _, der := range cert.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		cs.PeerCertificates = append(cs.PeerCertificates, c)
	}
	return cs
}
