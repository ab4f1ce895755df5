package controlplane

import (
	"crypto/ecdsa"
	"crypto/tls"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/orch-io/orch/pki"
)

// etcdTLS is the TLS material of the benchmark's secured etcd cluster: one
// CA, one certificate the members share for serving and for their peer
// links (valid for 127.0.0.1), and the client's configuration.
type etcdTLS struct {
	caFile, certFile, keyFile string
	client                    *tls.Config
}

// newEtcdTLS creates a CA and the certificates in a temporary directory.
func newEtcdTLS(b *testing.B) *etcdTLS {
	ca, err := pki.NewCA()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	sec := &etcdTLS{caFile: filepath.Join(dir, "ca.pem"), certFile: filepath.Join(dir, "member.pem"), keyFile: filepath.Join(dir, "member-key.pem")}
	writePEMFile(b, sec.caFile, ca.CertPEM())
	member, err := ca.IssueServer("etcd-member", []string{"127.0.0.1", "localhost"})
	if err != nil {
		b.Fatal(err)
	}
	var chain []byte
	for _, der := range member.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	writePEMFile(b, sec.certFile, chain)
	key, err := pki.EncodeKey(member.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		b.Fatal(err)
	}
	writePEMFile(b, sec.keyFile, key)
	client, err := ca.IssueServer("bench-client", nil)
	if err != nil {
		b.Fatal(err)
	}
	sec.client = &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{client}}
	return sec
}

// memberFlags are a member's TLS flags: TLS with client certificates on
// both its client and its peer links.
func (s *etcdTLS) memberFlags() []string {
	return []string{
		"--cert-file", s.certFile, "--key-file", s.keyFile, "--trusted-ca-file", s.caFile, "--client-cert-auth",
		"--peer-cert-file", s.certFile, "--peer-key-file", s.keyFile, "--peer-trusted-ca-file", s.caFile, "--peer-client-cert-auth",
	}
}

func writePEMFile(b *testing.B, path string, data []byte) {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
}
