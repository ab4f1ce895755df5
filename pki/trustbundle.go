package pki

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"sync/atomic"
)

// TrustBundle is the set of CAs a TLS endpoint trusts, replaceable while
// connections use it: two during a CA rotation (docs/ca-rotation.md), one
// otherwise. Configs read it at every handshake (GetConfigForClient on a
// server, VerifyConnection on a client), as LiveCert does for the
// certificate. Safe for concurrent use.
type TrustBundle struct {
	p atomic.Pointer[trustSet]
}

type trustSet struct {
	certs  []*x509.Certificate
	pool   *x509.CertPool
	pem    []byte
	digest string
}

// NewTrustBundle trusts the CA certificates in pemBytes.
func NewTrustBundle(pemBytes []byte) (*TrustBundle, error) {
	b := &TrustBundle{}
	if err := b.Set(pemBytes); err != nil {
		return nil, err
	}
	return b, nil
}

// Set replaces the trusted CAs for every later handshake.
func (b *TrustBundle) Set(pemBytes []byte) error {
	set, err := parseTrustSet(pemBytes)
	if err != nil {
		return err
	}
	b.p.Store(set)
	return nil
}

func parseTrustSet(pemBytes []byte) (*trustSet, error) {
	set := &trustSet{pool: x509.NewCertPool()}
	for rest := pemBytes; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("pki: trust bundle: %w", err)
		}
		set.certs = append(set.certs, cert)
		set.pool.AddCert(cert)
		set.pem = append(set.pem, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})...)
	}
	if len(set.certs) == 0 {
		return nil, errors.New("pki: trust bundle: no certificate")
	}
	set.digest = BundleDigest(set.pem)
	return set, nil
}

// BundleDigest is the hex SHA-256 of a PEM bundle's certificates, in the
// order given: what a node reports so the masters know what it trusts.
func BundleDigest(pemBytes []byte) string {
	h := sha256.New()
	for rest := pemBytes; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		sum := sha256.Sum256(block.Bytes)
		h.Write(sum[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Pool is the trusted CAs as they are now.
func (b *TrustBundle) Pool() *x509.CertPool { return b.load().pool }

// PEM is the trusted CAs' certificates.
func (b *TrustBundle) PEM() []byte { return bytes.Clone(b.load().pem) }

// Digest is BundleDigest of PEM.
func (b *TrustBundle) Digest() string { return b.load().digest }

// Verify checks a peer's raw chain (leaf first, then what it sent along)
// against the trusted CAs for usage, and returns the verified chains.
func (b *TrustBundle) Verify(rawCerts [][]byte, usage x509.ExtKeyUsage) ([][]*x509.Certificate, error) {
	chains, _, err := verifyChain(b.Pool(), rawCerts, usage)
	return chains, err
}

// verifyChain verifies the leaf of rawCerts against roots, with the rest
// of rawCerts as intermediates (the cross certificate rides there).
func verifyChain(roots *x509.CertPool, rawCerts [][]byte, usage x509.ExtKeyUsage) ([][]*x509.Certificate, *x509.Certificate, error) {
	if len(rawCerts) == 0 {
		return nil, nil, errors.New("pki: peer sent no certificate")
	}
	leaf, err := x509.ParseCertificate(rawCerts[0])
	if err != nil {
		return nil, nil, fmt.Errorf("pki: peer certificate: %w", err)
	}
	inter := x509.NewCertPool()
	for _, raw := range rawCerts[1:] {
		if c, err := x509.ParseCertificate(raw); err == nil {
			inter.AddCert(c)
		}
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}})
	if err != nil {
		return nil, nil, fmt.Errorf("pki: peer certificate %q not signed by the cluster CA: %w", leaf.Subject.CommonName, err)
	}
	return chains, leaf, nil
}

// ServerConfig makes base read the bundle at every handshake: each client
// certificate is checked against the CAs trusted at that moment, and the
// verified chains still reach the handler (PeerNode, PeerIsMaster).
func (b *TrustBundle) ServerConfig(base *tls.Config) *tls.Config {
	out := base.Clone()
	out.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c := base.Clone()
		c.ClientCAs = b.Pool()
		return c, nil
	}
	return out
}

// ClientConfig makes base verify servers against the bundle as it is at
// each handshake, then with check (which may be nil) on the verified
// connection. Host names are not checked: the callers' check says which
// certificate the server must hold (a master's, a given node's).
func (b *TrustBundle) ClientConfig(base *tls.Config, check func(tls.ConnectionState) error) *tls.Config {
	out := base.Clone()
	out.RootCAs = nil
	out.InsecureSkipVerify = true //nolint:gosec // VerifyConnection below does the whole check
	out.VerifyConnection = func(cs tls.ConnectionState) error {
		raw := make([][]byte, len(cs.PeerCertificates))
		for i, c := range cs.PeerCertificates {
			raw[i] = c.Raw
		}
		if _, err := b.Verify(raw, x509.ExtKeyUsageServerAuth); err != nil {
			return err
		}
		if check != nil {
			return check(cs)
		}
		return nil
	}
	return out
}

// Certs is the trusted CAs' certificates (shared: do not modify).
func (b *TrustBundle) Certs() []*x509.Certificate { return b.load().certs }

// load is the current set; a zero TrustBundle trusts nothing.
func (b *TrustBundle) load() *trustSet {
	if set := b.p.Load(); set != nil {
		return set
	}
	return &trustSet{pool: x509.NewCertPool()}
}
