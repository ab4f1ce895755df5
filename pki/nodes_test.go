package pki

import (
	"crypto/tls"
	"crypto/x509"
	"slices"
	"testing"
)

// TestNodeCertificates: the client certificate names the node, carries no
// host name and serves nothing; the server certificate has the hosts the
// master chose and authenticates nothing to the masters.
func TestNodeCertificates(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	csr, _, err := NewCSR("node:anything-the-caller-wants")
	if err != nil {
		t.Fatal(err)
	}
	id := NodeIdentity{Name: "n1", ID: "n-0001"}
	clientPEM, err := ca.SignNodeClient(csr, id)
	if err != nil {
		t.Fatal(err)
	}
	serverPEM, err := ca.SignNodeServer(csr, id, []string{"10.0.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	client, _ := ParseCertPEM(clientPEM)
	server, _ := ParseCertPEM(serverPEM)
	if len(client.DNSNames)+len(client.IPAddresses) != 0 || !slices.Equal(client.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("client certificate: names %v %v, usages %v", client.DNSNames, client.IPAddresses, client.ExtKeyUsage)
	}
	if got, ok := NodeOf(client); !ok || got != id {
		t.Errorf("NodeOf(client) = %v, %v; want %v", got, ok, id)
	}
	if _, ok := NodeOf(server); ok {
		t.Error("the server certificate authenticates as a node")
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("the client certificate verifies as a TLS server")
	}
	if _, err := server.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "10.0.0.5"}); err != nil {
		t.Errorf("the server certificate at its registered address: %v", err)
	}
	state := tls.ConnectionState{PeerCertificates: []*x509.Certificate{server}}
	if err := CheckServerIsNode(id)(state); err != nil {
		t.Errorf("CheckServerIsNode(the node): %v", err)
	}
	if err := CheckServerIsNode(NodeIdentity{Name: "n1", ID: "n-0002"})(state); err == nil {
		t.Error("CheckServerIsNode accepted a certificate of another node of the same name")
	}
	if err := CheckServerIsMaster(state); err == nil {
		t.Error("CheckServerIsMaster accepted a node")
	}
}
