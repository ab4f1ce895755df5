package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

func TestCASaveParse(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateCA(dir)
	if err != nil || again.Digest() != ca.Digest() || !bytes.Equal(again.KeyPEM(), ca.KeyPEM()) {
		t.Fatalf("reloaded CA differs: %v", err)
	}
	other, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCA(ca.CertPEM(), other.KeyPEM()); err == nil {
		t.Error("ParseCA accepted a key of another CA")
	}
	leaf, err := ca.IssueMaster([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]})
	if _, err := ParseCA(leafPEM, ca.KeyPEM()); err == nil {
		t.Error("ParseCA accepted a leaf certificate")
	}
}

func TestCAIssuesVerifiableCertificates(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer("master", []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "127.0.0.1"}); err != nil {
		t.Fatalf("server certificate does not verify: %v", err)
	}
	csr, key, err := NewCSR("agent")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := ca.SignCSR(csr, "node-1", []string{"10.0.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := EncodeKey(key)
	if _, err := tls.X509KeyPair(signed, keyPEM); err != nil {
		t.Fatalf("signed CSR does not pair with its key: %v", err)
	}
}
