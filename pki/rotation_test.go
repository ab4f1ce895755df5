package pki

import (
	"bytes"
	"crypto/x509"
	"testing"
)

func verifies(t *testing.T, ca *CA, leafDER []byte, inter ...[]byte) bool {
	t.Helper()
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	for _, der := range inter {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		pool.AddCert(c)
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), Intermediates: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err == nil
}

// TestAdoptPhases: trust accepts leaves of both CAs and still signs with
// the current one; sign signs with the next and follows each leaf with the
// cross certificate; after the replacement only the new CA is trusted and
// the cross certificate still follows leaves.
func TestAdoptPhases(t *testing.T) {
	a, _ := NewCA()
	b, _ := NewCA()
	cross, err := a.CrossSign(b)
	if err != nil {
		t.Fatal(err)
	}
	live, _ := ParseCA(a.CertPEM(), a.KeyPEM())
	leafA, _ := a.IssueMaster(nil)
	leafB, _ := b.IssueMaster(nil)

	if err := live.Adopt(a, b, PhaseTrust, cross); err != nil {
		t.Fatal(err)
	}
	if !verifies(t, live, leafA.Certificate[0]) || !verifies(t, live, leafB.Certificate[0]) {
		t.Fatal("trust: a leaf of one of the two CAs is refused")
	}
	if live.Digest() != a.Digest() {
		t.Fatal("trust: the next CA signs already")
	}
	if err := live.Adopt(a, b, PhaseSign, cross); err != nil {
		t.Fatal(err)
	}
	issued, _ := live.IssueMaster(nil)
	crossCert, _ := parseCert(cross)
	if live.Digest() != b.Digest() || !bytes.Equal(issued.Certificate[1], crossCert.Raw) {
		t.Fatal("sign: not signing with the next CA, or the cross certificate does not follow the leaf")
	}
	onlyA, _ := ParseCACert(a.CertPEM())
	if !verifies(t, onlyA, issued.Certificate[0], issued.Certificate[1]) {
		t.Fatal("sign: a peer trusting only the old CA cannot verify through the cross certificate")
	}
	retired, _ := ParseCA(b.CertPEM(), b.KeyPEM())
	if err := live.Adopt(retired, nil, "", cross); err != nil {
		t.Fatal(err)
	}
	if verifies(t, live, leafA.Certificate[0]) {
		t.Fatal("retired: a leaf only the old CA signed is still accepted")
	}
	if got := BundleDigest(live.BundlePEM()); got != BundleDigest(mustBundle(t, b.CertPEM())) {
		t.Fatal("retired: the bundle is not the new CA alone")
	}
	if err := live.Adopt(a, b, "later", cross); err == nil {
		t.Fatal("an unknown phase was adopted")
	}
}

func mustBundle(t *testing.T, pems ...[]byte) []byte {
	t.Helper()
	b, err := BundleOf(pems...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAcceptServedCA: a token pinning the current CA, or the replaced one
// with its cross certificate, is accepted; a stranger's CA, or a replaced
// CA without the cross proof, is not.
func TestAcceptServedCA(t *testing.T) {
	a, _ := NewCA()
	b, _ := NewCA()
	other, _ := NewCA()
	cross, _ := a.CrossSign(b)
	otherCross, _ := other.CrossSign(b)
	served := append(append(append([]byte{}, b.CertPEM()...), cross...), a.CertPEM()...)
	for _, tc := range []struct {
		name   string
		served []byte
		pin    string
		ok     bool
	}{
		{"current", b.CertPEM(), b.Digest(), true},
		{"replaced, with the cross proof", served, a.Digest(), true},
		{"current, after a replacement", served, b.Digest(), true},
		{"a stranger", served, other.Digest(), false},
		{"replaced, cross signed by another", append(append(append([]byte{}, b.CertPEM()...), otherCross...), a.CertPEM()...), a.Digest(), false},
	} {
		got, err := AcceptServedCA(tc.served, tc.pin)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.name, err, tc.ok)
		}
		if err == nil && !bytes.Equal(got, mustBundle(t, b.CertPEM())) {
			t.Errorf("%s: accepted something other than the current CA", tc.name)
		}
	}
}
