package pki

import (
	"crypto/x509"
	"testing"
)

// TestCrossSignBridgesTrust: a leaf the next CA signs verifies for a peer
// trusting only the old CA when the cross certificate rides in the chain
// (not without it), and for a peer trusting only the next CA on its own.
func TestCrossSignBridgesTrust(t *testing.T) {
	oldCA, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	nextCA, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	crossPEM, err := oldCA.CrossSign(nextCA)
	if err != nil {
		t.Fatal(err)
	}
	cross, err := ParseCertPEM(crossPEM)
	if err != nil {
		t.Fatal(err)
	}
	if cross.NotAfter.After(oldCA.Cert().NotAfter) {
		t.Errorf("the bridge outlives the old CA: %v > %v", cross.NotAfter, oldCA.Cert().NotAfter)
	}
	cert, err := nextCA.IssueMaster([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	verify := func(roots *x509.CertPool, inter ...*x509.Certificate) error {
		pool := x509.NewCertPool()
		for _, c := range inter {
			pool.AddCert(c)
		}
		_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		return err
	}
	if err := verify(oldCA.Pool(), cross); err != nil {
		t.Errorf("old trust, with the bridge: %v", err)
	}
	if err := verify(oldCA.Pool()); err == nil {
		t.Error("old trust, without the bridge: verified")
	}
	if err := verify(nextCA.Pool()); err != nil {
		t.Errorf("new trust: %v", err)
	}
	if err := oldCA.VerifyMaster([][]byte{leaf.Raw, cross.Raw}); err != nil {
		t.Errorf("a master trusting the old CA refuses a new master with the bridge: %v", err)
	}
	if _, err := mustCertOnly(t, oldCA).CrossSign(nextCA); err == nil {
		t.Error("a CA without its key cross-signed")
	}
}

func mustCertOnly(t *testing.T, ca *CA) *CA {
	t.Helper()
	c, err := ParseCACert(ca.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
