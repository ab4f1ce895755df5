package pki

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// The phases of a CA replacement in which a CA acts differently.
const (
	PhaseTrust = "trust"
	PhaseSign  = "sign"
)

// Adopt makes ca act as the cluster's records say (docs/ca-rotation.md):
// current is the cluster CA; next, when a replacement is under way, the
// CA replacing it, in phase trust (leaves of both are trusted, current
// signs) or sign (next signs; each leaf is followed by cross, by which
// current vouches for next). With no replacement under way, cross is the
// one the last replacement left: leaves are followed by it while it is
// valid, for clients that still trust the CA it replaced.
func (ca *CA) Adopt(current, next *CA, phase string, crossPEM []byte) error {
	if current == nil || current.KeyPEM() == nil {
		return errors.New("pki: adopt: the cluster CA and its key are required")
	}
	cur := current.keys()
	var cross []byte
	if len(crossPEM) > 0 {
		c, err := parseCert(crossPEM)
		if err != nil {
			return fmt.Errorf("pki: adopt: cross certificate: %w", err)
		}
		if time.Now().Before(c.NotAfter) {
			cross = c.Raw
		}
	}
	if next == nil {
		chain := cur.cert.Raw
		if cross != nil {
			chain = cross
		}
		ca.state.Store(stateOf(cur, []*x509.Certificate{cur.cert}, chain))
		return nil
	}
	if next.KeyPEM() == nil {
		return errors.New("pki: adopt: the next CA's key is required")
	}
	trusted := []*x509.Certificate{cur.cert, next.Cert()}
	switch phase {
	case PhaseTrust:
		ca.state.Store(stateOf(cur, trusted, cur.cert.Raw))
	case PhaseSign:
		if cross == nil {
			return errors.New("pki: adopt: the sign phase needs a valid cross certificate")
		}
		ca.state.Store(stateOf(next.keys(), trusted, cross))
	default:
		return fmt.Errorf("pki: adopt: phase %q is not trust or sign", phase)
	}
	return nil
}

// BundlePEM is the PEM of every CA certificate trusted now, the cluster
// CA first: what a node writes as its ca.crt. Callers must not change it.
func (ca *CA) BundlePEM() []byte { return ca.state.Load().bundle }

// BundleDigest names a bundle's PEM, as nodes report the one they trust.
func BundleDigest(bundlePEM []byte) string {
	sum := sha256.Sum256(bundlePEM)
	return hex.EncodeToString(sum[:])
}

// KeyID is the hex key id of a CA certificate (its subject key id): the
// issuer KeyID of the leaves it signs. A cross certificate carries the
// key id of the CA it vouches for.
func KeyID(caCert *x509.Certificate) string { return hex.EncodeToString(caCert.SubjectKeyId) }

// IssuerKeyID is the hex key id of the CA that signed leaf.
func IssuerKeyID(leaf *x509.Certificate) string { return hex.EncodeToString(leaf.AuthorityKeyId) }

// ParseBundle parses every certificate of a PEM bundle, or fails.
func ParseBundle(bundlePEM []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := bundlePEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("pki: bundle: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("pki: bundle: no certificate")
	}
	return out, nil
}

// PoolOf is a pool of certs.
func PoolOf(certs []*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}
