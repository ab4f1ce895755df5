package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// MasterCommonName is the subject of every master's certificate. Only the
// masters hold the CA key, so a CA-signed certificate with this subject
// proves the peer is a master of this cluster (agents' certificates are
// "node:NAME").
const MasterCommonName = "orch-master"

// IssueMaster issues a master's certificate, valid as TLS server and client,
// for the given host names and IPs.
func (ca *CA) IssueMaster(hosts []string) (tls.Certificate, error) {
	return ca.IssueServer(MasterCommonName, hosts)
}

// VerifyMaster checks a peer's raw certificate chain: signed by the CA and
// issued to a master. Host names are deliberately not checked: masters are
// known by their certificate, not by the address they were dialled at
// (which may be a NAT or a 0.0.0.0 listener).
func (ca *CA) VerifyMaster(rawCerts [][]byte) error {
	if len(rawCerts) == 0 {
		return errors.New("pki: peer sent no certificate")
	}
	leaf, err := x509.ParseCertificate(rawCerts[0])
	if err != nil {
		return fmt.Errorf("pki: peer certificate: %w", err)
	}
	inter := x509.NewCertPool()
	for _, raw := range rawCerts[1:] {
		if c, err := x509.ParseCertificate(raw); err == nil {
			inter.AddCert(c)
		}
	}
	opts := x509.VerifyOptions{Roots: ca.Pool(), Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := leaf.Verify(opts); err != nil {
		return fmt.Errorf("pki: peer certificate not signed by the cluster CA: %w", err)
	}
	if leaf.Subject.CommonName != MasterCommonName {
		return fmt.Errorf("pki: peer %q is not a master", leaf.Subject.CommonName)
	}
	return nil
}

// MasterServerTLS is the TLS config of a listener only masters may use
// (Raft): it presents cert (as it is at each handshake) and requires a
// master's certificate back.
func (ca *CA) MasterServerTLS(cert *LiveCert) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: cert.GetCertificate,
		ClientAuth:     tls.RequireAnyClientCert,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			return ca.VerifyMaster(raw)
		},
	}
}

// MasterClientTLS is the TLS config for calling another master: it accepts
// only a master's certificate and presents cert when it is not nil.
func (ca *CA) MasterClientTLS(cert *LiveCert) *tls.Config {
	tc := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// VerifyPeerCertificate does the whole check (chain and subject);
		// the host name is not what identifies a master.
		InsecureSkipVerify: true, //nolint:gosec // verified below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			return ca.VerifyMaster(raw)
		},
	}
	if cert != nil {
		tc.GetClientCertificate = cert.GetClientCertificate
	}
	return tc
}

// PeerIsMaster reports whether a connection's client presented a verified
// master certificate (the API asks for client certificates but does not
// require them).
func PeerIsMaster(cs *tls.ConnectionState) bool {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return false
	}
	return cs.VerifiedChains[0][0].Subject.CommonName == MasterCommonName
}
