package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// NodePrefix starts the subject of every node certificate: "node:NAME".
// The node's id rides in the subject's organizational unit, so that a
// certificate of a removed node does not speak for a later node that
// registers under the same name.
const NodePrefix = "node:"

// NodeIdentity is the node a verified certificate names.
type NodeIdentity struct {
	Name string
	ID   string
}

// SignNodeClient signs a node's certificate request as a TLS client
// certificate only, for node:NAME with the node's id and no host names:
// it authenticates the agent to the masters and can serve nothing.
func (ca *CA) SignNodeClient(csrPEM []byte, id NodeIdentity) ([]byte, error) {
	return ca.signNode(csrPEM, id, nil, x509.ExtKeyUsageClientAuth)
}

// SignNodeServer signs the same request as a TLS server certificate for
// the agent's own endpoint (logs, exec). hosts are the addresses the
// masters registered for the node; the caller never chooses them.
func (ca *CA) SignNodeServer(csrPEM []byte, id NodeIdentity, hosts []string) ([]byte, error) {
	return ca.signNode(csrPEM, id, hosts, x509.ExtKeyUsageServerAuth)
}

func (ca *CA) signNode(csrPEM []byte, id NodeIdentity, hosts []string, usage x509.ExtKeyUsage) ([]byte, error) {
	if id.Name == "" || id.ID == "" {
		return nil, errors.New("pki: a node certificate needs the node's name and id")
	}
	pub, err := csrPublicKey(csrPEM)
	if err != nil {
		return nil, err
	}
	tmpl := ca.leafTemplate(NodePrefix+id.Name, hosts)
	tmpl.Subject.OrganizationalUnit = []string{id.ID}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
	der, err := ca.signTemplate(tmpl, pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// NodeOf is the node a verified certificate names, or ok false when cert
// is not a node's client certificate.
func NodeOf(cert *x509.Certificate) (NodeIdentity, bool) {
	name, ok := strings.CutPrefix(cert.Subject.CommonName, NodePrefix)
	if !ok || name == "" || len(cert.Subject.OrganizationalUnit) != 1 {
		return NodeIdentity{}, false
	}
	if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		return NodeIdentity{}, false
	}
	return NodeIdentity{Name: name, ID: cert.Subject.OrganizationalUnit[0]}, true
}

// PeerNode is the node whose client certificate a connection's client
// presented and the server verified against the cluster CA.
func PeerNode(cs *tls.ConnectionState) (NodeIdentity, bool) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return NodeIdentity{}, false
	}
	return NodeOf(cs.VerifiedChains[0][0])
}

// CheckServerIsMaster is a tls.Config.VerifyConnection for clients of the
// masters (agents, orchctl): after the usual chain and host name checks,
// the server must hold a master's certificate, not merely one the cluster
// CA signed (every node holds one of those).
func CheckServerIsMaster(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("pki: the server sent no certificate")
	}
	if cn := cs.PeerCertificates[0].Subject.CommonName; cn != MasterCommonName {
		return fmt.Errorf("pki: the server %q is not a master", cn)
	}
	return nil
}

// CheckServerIsNode returns a tls.Config.VerifyConnection for a master
// calling a node's agent: the server's certificate must name that node
// (its name and id), not merely be one the cluster CA signed.
func CheckServerIsNode(want NodeIdentity) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("pki: the agent sent no certificate")
		}
		leaf := cs.PeerCertificates[0]
		ou := leaf.Subject.OrganizationalUnit
		if leaf.Subject.CommonName != NodePrefix+want.Name || len(ou) != 1 || ou[0] != want.ID {
			return fmt.Errorf("pki: the agent's certificate names %q %v, not node %s (%s)", leaf.Subject.CommonName, ou, want.Name, want.ID)
		}
		return nil
	}
}
