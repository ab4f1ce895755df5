package controlplane

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"
)

// TestMastersRenewTheirCertificates: masters whose certificates last 6 s
// keep serving past several renewals. Every new connection meets a valid
// certificate: a client's, at every moment, and the Raft connections of an
// election held after the first certificates expired (the two followers
// never dialled each other before it).
func TestMastersRenewTheirCertificates(t *testing.T) {
	c := newCluster(t, 3, "--cert-lifetime", "6s")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.ca)
	served := func(m *master) (*x509.Certificate, error) {
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 2 * time.Second}, Config: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
		conn, err := d.Dial("tcp", strings.TrimPrefix(m.url(), "https://"))
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		return conn.(*tls.Conn).ConnectionState().PeerCertificates[0], nil
	}
	first, err := served(c.masters[0])
	if err != nil {
		t.Fatal(err)
	}
	serials := map[string]bool{}
	for end := first.NotAfter.Add(4 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		for _, m := range c.live() {
			cert, err := served(m)
			if err != nil {
				t.Fatalf("a new connection to %s at %s: %v", m.id, time.Now().Format(time.StampMilli), err)
			}
			serials[cert.SerialNumber.String()] = true
		}
	}
	if len(serials) < 6 {
		t.Errorf("%d distinct certificates served by 3 masters over two lifetimes: not renewed?", len(serials))
	}
	old := c.leader()
	old.kill9()
	c.writeServices(c.live()[0].url(), "after-renewals", 3)
	if now := c.leader(); now == old {
		t.Fatal("the killed master still leads")
	}
}
