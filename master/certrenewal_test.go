package master

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMasterRenewsItsCertificate: with certificates valid for a few
// seconds, the API serves a new certificate before the first expires, an
// admin keeps working past that expiry, and a connection made with the old
// certificate keeps serving requests.
func TestMasterRenewsItsCertificate(t *testing.T) {
	ctx := context.Background()
	m, admin := startTestMaster(t, Config{CertLifetime: 6 * time.Second})
	served := func() *x509.Certificate {
		t.Helper()
		conn, err := tls.Dial("tcp", strings.TrimPrefix(m.URL(), "https://"), &tls.Config{RootCAs: m.CA().Pool(), MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatalf("handshake with the master: %v", err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0]
	}
	first := served()
	// One connection made now, kept open across the renewal.
	kept := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: m.CA().Pool(), MinVersion: tls.VersionTLS12}, MaxConnsPerHost: 1}}
	defer kept.CloseIdleConnections()
	var keptConnCert *x509.Certificate
	get := func() {
		t.Helper()
		resp, err := kept.Get(m.URL() + "/v1/ca")
		if err != nil {
			t.Fatalf("on the kept connection: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if keptConnCert == nil {
			keptConnCert = resp.TLS.PeerCertificates[0]
		} else if !resp.TLS.PeerCertificates[0].Equal(keptConnCert) {
			t.Fatal("the kept connection was replaced")
		}
	}
	get()

	deadline := time.Now().Add(20 * time.Second)
	for served().SerialNumber.Cmp(first.SerialNumber) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the master never served a new certificate")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if renewed := time.Now(); !renewed.Before(first.NotAfter) {
		t.Errorf("renewed at %v, after the first certificate expired at %v", renewed, first.NotAfter)
	}
	for time.Now().Before(first.NotAfter.Add(500 * time.Millisecond)) {
		if _, _, err := admin.ListNodes(ctx); err != nil {
			t.Fatalf("admin across the renewal: %v", err)
		}
		get()
		time.Sleep(50 * time.Millisecond)
	}
	if !keptConnCert.Equal(first) {
		t.Error("the kept connection did not start with the first certificate")
	}
}
