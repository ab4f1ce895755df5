package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The next CA of a rotation under way, beside the CA in a master's data
// directory (docs/ca-rotation.md): a master restarted mid-rotation trusts
// both before Raft has replayed the phase.
const (
	nextCertFile = "next.crt"
	nextKeyFile  = "next.key"
)

// SaveNext writes ca into dir as the next CA.
func (ca *CA) SaveNext(dir string) error { return ca.saveFiles(dir, nextCertFile, nextKeyFile) }

// LoadNextCA reads the next CA from dir; an error wrapping os.ErrNotExist
// when no rotation was under way.
func LoadNextCA(dir string) (*CA, error) { return loadCAFiles(dir, nextCertFile, nextKeyFile) }

// RemoveNextCA deletes the next CA from dir (once it is the CA).
func RemoveNextCA(dir string) error {
	for _, f := range []string{nextKeyFile, nextCertFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("pki: remove the next CA: %w", err)
		}
	}
	return nil
}

// IssuerDigest is the digest of the CA among cas that signed leaf, or ""
// when none did.
func IssuerDigest(leaf *x509.Certificate, cas []*x509.Certificate) string {
	for _, ca := range cas {
		if leaf.CheckSignatureFrom(ca) == nil {
			return CertDigest(ca.Raw)
		}
	}
	return ""
}
