package pki

import (
	"bytes"
	"encoding/pem"
)

// BundleOf is the bundle (as BundlePEM renders it) of the CA certificates
// certPEMs, in order: what a master or node trusts while those CAs are.
func BundleOf(certPEMs ...[]byte) ([]byte, error) {
	var b bytes.Buffer
	for _, p := range certPEMs {
		c, err := parseCert(p)
		if err != nil {
			return nil, err
		}
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes(), nil
}
