package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// AcceptServedCA checks what a master's GET /v1/ca answered against the
// CA digest a join token pins, and returns the CA to trust (PEM). The
// answer is the cluster CA, followed after a CA rotation by the cross
// certificate and the retired CA: a token pinning the retired CA is
// accepted when the cross certificate is that CA's signature over the
// current one's subject and key (the retired CA handed over to it).
func AcceptServedCA(served []byte, want string) ([]byte, error) {
	blocks := pemBlocks(served)
	if len(blocks) == 0 {
		return nil, fmt.Errorf("pki: served CA: no certificate")
	}
	current, err := parseDER(blocks[0])
	if err != nil {
		return nil, err
	}
	trusted := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: current.Raw})
	if CertDigest(current.Raw) == want {
		return trusted, nil
	}
	if len(blocks) >= 3 && CertDigest(blocks[2]) == want {
		cross, err := parseDER(blocks[1])
		if err != nil {
			return nil, err
		}
		previous, err := parseDER(blocks[2])
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(cross.RawSubject, current.RawSubject) || !bytes.Equal(cross.RawSubjectPublicKeyInfo, current.RawSubjectPublicKeyInfo) {
			return nil, fmt.Errorf("pki: served CA: the cross certificate is not for CA %s", CertDigest(current.Raw))
		}
		if err := cross.CheckSignatureFrom(previous); err != nil {
			return nil, fmt.Errorf("pki: served CA: the cross certificate is not signed by the CA the token pins: %w", err)
		}
		return trusted, nil
	}
	return nil, fmt.Errorf("pki: the served CA has digest %s but the token expects %s: refusing to join", CertDigest(current.Raw), want)
}

func parseDER(der []byte) (*x509.Certificate, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: served CA: %w", err)
	}
	return cert, nil
}
