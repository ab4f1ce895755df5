package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// DefaultLeafLifetime is how long the certificates the CA signs (masters'
// and nodes') are valid unless the master's --cert-lifetime says otherwise.
const DefaultLeafLifetime = 365 * 24 * time.Hour

// maxBackdate is how far before its issue a leaf becomes valid, for
// clocks that lag the signer's. A short lifetime (tests use seconds)
// backdates by a tenth of it, so renewal still happens near two thirds
// of what was asked for.
const maxBackdate = time.Hour

// SetLeafLifetime sets how long the certificates this CA signs from now on
// are valid (DefaultLeafLifetime when d <= 0). Call it before the CA is
// shared: it is not synchronized.
func (ca *CA) SetLeafLifetime(d time.Duration) { ca.leafLifetime = d }

func (ca *CA) lifetime() time.Duration {
	if ca.leafLifetime <= 0 {
		return DefaultLeafLifetime
	}
	return ca.leafLifetime
}

// validity is the NotBefore and NotAfter of a leaf issued now.
func (ca *CA) validity() (time.Time, time.Time) {
	now, life := time.Now(), ca.lifetime()
	return now.Add(-min(maxBackdate, life/10)), now.Add(life)
}

// RenewAt is when a certificate valid from notBefore to notAfter should
// be replaced: at two thirds of its validity, made earlier by up to a
// tenth of it at random so that nodes issued together do not all come
// back to the masters at the same moment.
func RenewAt(notBefore, notAfter time.Time) time.Time {
	life := notAfter.Sub(notBefore)
	at := notBefore.Add(life * 2 / 3)
	if jitter := int64(life / 10); jitter > 0 {
		at = at.Add(-time.Duration(rand.Int64N(jitter)))
	}
	return at
}

// LeafOf is the parsed leaf of cert.
func LeafOf(cert *tls.Certificate) (*x509.Certificate, error) {
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, errors.New("pki: no certificate")
	}
	if cert.Leaf != nil {
		return cert.Leaf, nil
	}
	return x509.ParseCertificate(cert.Certificate[0])
}

// LiveCert is a certificate that can be replaced while connections use it:
// TLS configs read it at every handshake through GetCertificate and
// GetClientCertificate, so a renewal needs no listener restart and leaves
// established connections alone. Safe for concurrent use.
type LiveCert struct {
	p atomic.Pointer[tls.Certificate]
}

// NewLiveCert holds cert.
func NewLiveCert(cert tls.Certificate) *LiveCert {
	l := &LiveCert{}
	l.Store(cert)
	return l
}

// Load is the current certificate.
func (l *LiveCert) Load() *tls.Certificate { return l.p.Load() }

// Store replaces the certificate for every later handshake.
func (l *LiveCert) Store(cert tls.Certificate) {
	if cert.Leaf == nil && len(cert.Certificate) > 0 {
		cert.Leaf, _ = x509.ParseCertificate(cert.Certificate[0])
	}
	l.p.Store(&cert)
}

// GetCertificate is a tls.Config.GetCertificate.
func (l *LiveCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return l.Load(), nil
}

// GetClientCertificate is a tls.Config.GetClientCertificate.
func (l *LiveCert) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return l.Load(), nil
}

// WaitRenewal waits until cert is due for renewal (RenewAt), or for retry
// when there is no certificate to read a date from. It returns ctx's
// error when ctx ends first.
func WaitRenewal(ctx context.Context, cert *tls.Certificate, retry time.Duration) error {
	wait := retry
	if leaf, err := LeafOf(cert); err == nil {
		wait = time.Until(RenewAt(leaf.NotBefore, leaf.NotAfter))
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
