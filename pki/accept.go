package pki

import (
	"bytes"
	"encoding/pem"
	"fmt"
)

// AcceptServedCA checks what a master serves at /v1/ca against the CA
// digest a join token pins, before the token is ever sent, and returns the
// PEM of the CA to trust. The answer is the cluster CA, and after a CA
// replacement also the cross certificate and the replaced CA: a token
// pinning the replaced CA is still good when the cross certificate proves
// that CA vouched for the current one (docs/ca-rotation.md).
func AcceptServedCA(served []byte, want string) ([]byte, error) {
	certs, err := ParseBundle(served)
	if err != nil {
		return nil, err
	}
	current := certs[0]
	currentPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: current.Raw})
	if !current.IsCA {
		return nil, fmt.Errorf("pki: the served CA %q is not a CA", current.Subject.CommonName)
	}
	if CertDigest(current.Raw) == want {
		return currentPEM, nil
	}
	for _, pinned := range certs[1:] {
		if CertDigest(pinned.Raw) != want || !pinned.IsCA {
			continue
		}
		for _, cross := range certs[1:] {
			if cross == pinned || cross.CheckSignatureFrom(pinned) != nil {
				continue
			}
			if bytes.Equal(cross.RawSubjectPublicKeyInfo, current.RawSubjectPublicKeyInfo) && bytes.Equal(cross.RawSubject, current.RawSubject) {
				return currentPEM, nil
			}
		}
		return nil, fmt.Errorf("pki: the CA the token pins (%s) was replaced, and the master shows no cross certificate by which it vouches for the current one", want)
	}
	return nil, fmt.Errorf("pki: the CA has digest %s but the token expects %s: refusing to join", CertDigest(current.Raw), want)
}
