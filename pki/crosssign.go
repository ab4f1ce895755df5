package pki

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// CrossSign issues, with this CA's key, a CA certificate for next's
// subject and key: the bridge of a CA replacement (docs/ca-rotation.md).
// Sent after a leaf that next signed, it lets a peer that trusts only
// this CA verify that leaf; a peer that trusts next never needs it. It is
// valid no longer than either CA.
func (ca *CA) CrossSign(next *CA) ([]byte, error) {
	k := ca.keys()
	if k.key == nil {
		return nil, errors.New("pki: cross-sign: this CA has no key (certificate only)")
	}
	if next == nil || next.Cert() == nil || !next.Cert().IsCA {
		return nil, errors.New("pki: cross-sign: the next CA is not a CA")
	}
	nc := next.Cert()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               nc.Subject,
		SubjectKeyId:          nc.SubjectKeyId,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              minTime(k.cert.NotAfter, nc.NotAfter),
		KeyUsage:              nc.KeyUsage,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// Only leaves below it: the bridge must not let next mint
		// further CAs that this CA's peers would trust.
		MaxPathLen: 0, MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, k.cert, nc.PublicKey, k.key)
	if err != nil {
		return nil, fmt.Errorf("pki: cross-sign %q: %w", nc.Subject.CommonName, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
