package raftnode

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/pki"
)

// TestRaftProtocolNegotiation: a master of this build, one of v0.1.0 (no
// offer) and one one minor version ahead are accepted; one two minor
// versions ahead is refused at the handshake with the version sentence.
func TestRaftProtocolNegotiation(t *testing.T) {
	layer, ca, cert := newTestLayer(t)
	defer layer.Close()
	go func() {
		for {
			c, err := layer.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = c.Read(make([]byte, 1)); c.Close() }()
		}
	}()
	next := api.Protocol{Major: api.ProtocolVersion.Major, Minor: api.ProtocolVersion.Minor + 1}
	far := api.Protocol{Major: api.ProtocolVersion.Major, Minor: api.ProtocolVersion.Minor + 2}
	for _, c := range []struct {
		name    string
		offer   []string
		want    string // negotiated protocol
		refused bool
	}{
		{"this build", []string{alpnPrefix + api.ProtocolVersion.String()}, alpnPrefix + api.ProtocolVersion.String(), false},
		{"v0.1.0 (no offer)", nil, "", false},
		{"one minor ahead", []string{alpnPrefix + next.String()}, alpnPrefix + next.String(), false},
		{"two minors ahead", []string{alpnPrefix + far.String()}, "", true},
	} {
		conf := ca.MasterClientTLS(pki.NewLiveCert(cert))
		conf.NextProtos = c.offer
		conn, err := tls.Dial("tcp", layer.Addr().String(), conf)
		if c.refused {
			if err == nil {
				conn.Close()
				t.Errorf("%s: accepted", c.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := conn.ConnectionState().NegotiatedProtocol; got != c.want {
			t.Errorf("%s: negotiated %q, want %q", c.name, got, c.want)
		}
		conn.Close()
	}
	// The refusal's reason is the version sentence (logged by the accepting
	// master; the dialer sees a TLS alert).
	pipe, other := net.Pipe()
	defer pipe.Close()
	defer other.Close()
	_, err := versionedServer(&tls.Config{}).GetConfigForClient(&tls.ClientHelloInfo{SupportedProtos: []string{alpnPrefix + far.String()}, Conn: pipe})
	if err == nil || !strings.Contains(err.Error(), "speaks protocol "+far.String()) {
		t.Fatalf("refusal: %v", err)
	}
}

// newTestLayer is a stream layer on loopback with a fresh CA's master
// certificate.
func newTestLayer(t *testing.T) (*tlsStreamLayer, *pki.CA, tls.Certificate) {
	t.Helper()
	ca, _ := pki.NewCA()
	cert, err := ca.IssueMaster([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	layer, err := newTLSStreamLayer("127.0.0.1:0", "", ca.MasterServerTLS(pki.NewLiveCert(cert)), ca.MasterClientTLS(pki.NewLiveCert(cert)))
	if err != nil {
		t.Fatal(err)
	}
	return layer, ca, cert
}
