package pki

import (
	"crypto/tls"
	"encoding/pem"
	"net"
	"testing"
	"time"
)

// rotationCAs are A, B and A's cross certificate over B.
func rotationCAs(t *testing.T) (a, b *CA, cross []byte) {
	t.Helper()
	a, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	if b, err = NewCA(); err != nil {
		t.Fatal(err)
	}
	if cross, err = a.CrossSign(b); err != nil {
		t.Fatal(err)
	}
	return a, b, cross
}

// handshake runs a real TLS handshake between a server of auth (asking for
// client certificates, checked against its bundle) and a client trusting
// roots and showing clientCert (may be nil).
func handshake(t *testing.T, auth *Authority, serverCert *LiveCert, roots []byte, clientCert *tls.Certificate) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srvConf := auth.Trust().ServerConfig(&tls.Config{GetCertificate: serverCert.GetCertificate, ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS12})
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		done <- tls.Server(c, srvConf).Handshake()
	}()
	bundle, err := NewTrustBundle(roots)
	if err != nil {
		t.Fatal(err)
	}
	cliConf := bundle.ClientConfig(&tls.Config{MinVersion: tls.VersionTLS12}, CheckServerIsMaster)
	if clientCert != nil {
		cliConf.Certificates = []tls.Certificate{*clientCert}
	}
	conn, err := tls.Dial("tcp", ln.Addr().String(), cliConf)
	if err == nil {
		// TLS 1.3: the server's verdict on the client arrives with the first read.
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if serr := <-done; serr != nil {
		return serr
	}
	return err
}

// TestAuthorityPhases walks one master's Authority through a rotation with
// real handshakes: an old client (trusting A only, with an A-signed
// certificate) keeps working through SIGN thanks to the cross certificate;
// after RETIRE its A-signed certificate is refused.
func TestAuthorityPhases(t *testing.T) {
	a, b, cross := rotationCAs(t)
	auth := NewAuthority(a, 0)
	issue := func() *LiveCert {
		cert, err := auth.IssueMaster([]string{"127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		return NewLiveCert(cert)
	}
	oldClient, err := a.IssueMaster(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, auth, issue(), a.CertPEM, &oldClient); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}
	both := append(append([]byte{}, a.CertPEM...), b.CertPEM...)
	if err := auth.Set(AuthorityState{Current: a, Trust: both}); err != nil { // TRUST
		t.Fatal(err)
	}
	bClient, err := b.IssueMaster(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, auth, issue(), a.CertPEM, &bClient); err != nil {
		t.Fatalf("trust: a B-signed client refused: %v", err)
	}
	if err := auth.Set(AuthorityState{Current: a, Signer: b, Chain: cross, Trust: both}); err != nil { // SIGN
		t.Fatal(err)
	}
	if leaf, err := LeafOf(issue().Load()); err != nil || leaf.CheckSignatureFrom(b.Cert) != nil {
		t.Fatalf("sign: the master's certificate is not signed by B (%v)", err)
	}
	if err := handshake(t, auth, issue(), a.CertPEM, &oldClient); err != nil {
		t.Fatalf("sign: a client trusting only A refused: %v", err)
	}
	if err := handshake(t, auth, issue(), b.CertPEM, &bClient); err != nil {
		t.Fatalf("sign: a client trusting only B refused: %v", err)
	}
	served := append(append(append([]byte{}, b.CertPEM...), cross...), a.CertPEM...)
	if err := auth.Set(AuthorityState{Current: b, Chain: cross, Served: served}); err != nil { // RETIRE
		t.Fatal(err)
	}
	if err := handshake(t, auth, issue(), a.CertPEM, nil); err != nil {
		t.Fatalf("retire: an old admin config (trusting A) refused: %v", err)
	}
	if err := handshake(t, auth, issue(), b.CertPEM, &oldClient); err == nil {
		t.Fatal("retire: an A-signed client certificate was accepted")
	}
	if err := handshake(t, auth, issue(), b.CertPEM, &bClient); err != nil {
		t.Fatalf("retire: a B-signed client refused: %v", err)
	}
}

func TestAcceptServedCA(t *testing.T) {
	a, b, cross := rotationCAs(t)
	other, _, _ := rotationCAs(t)
	served := append(append(append([]byte{}, b.CertPEM...), cross...), a.CertPEM...)
	for _, tc := range []struct {
		name   string
		served []byte
		want   string
		ok     bool
	}{
		{"token pins the current CA", b.CertPEM, b.Digest(), true},
		{"token pins the retired CA, hand-over served", served, a.Digest(), true},
		{"token pins the retired CA, no hand-over", b.CertPEM, a.Digest(), false},
		{"token pins another CA", served, other.Digest(), false},
		{"forged hand-over", append(append(append([]byte{}, b.CertPEM...), mustCross(t, other, b)...), a.CertPEM...), a.Digest(), false},
	} {
		got, err := AcceptServedCA(tc.served, tc.want)
		if tc.ok != (err == nil) {
			t.Errorf("%s: err %v", tc.name, err)
			continue
		}
		if tc.ok {
			if block, _ := pem.Decode(got); block == nil || CertDigest(block.Bytes) != b.Digest() {
				t.Errorf("%s: trusts something other than B", tc.name)
			}
		}
	}
}

func mustCross(t *testing.T, from, to *CA) []byte {
	t.Helper()
	cross, err := from.CrossSign(to)
	if err != nil {
		t.Fatal(err)
	}
	return cross
}
