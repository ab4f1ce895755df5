package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// CA is the cluster's certificate authority as one master holds it: the
// CA that signs leaves now and the CAs whose leaves are trusted. Both
// change, atomically, while the CA is replaced (Adopt, and
// docs/ca-rotation.md); every TLS config built from a CA reads them at
// each handshake, so a replacement needs no restart.
type CA struct {
	state atomic.Pointer[caState]
	// leafLifetime is how long the leaves it signs are valid (see
	// SetLeafLifetime).
	leafLifetime time.Duration
}

// caKeys is one CA certificate with its key (nil for a CA known by its
// certificate only).
type caKeys struct {
	cert    *x509.Certificate
	certPEM []byte
	keyPEM  []byte
	key     crypto.Signer
}

type caState struct {
	signer caKeys
	// trusted are the CA certificates whose leaves are accepted.
	trusted []*x509.Certificate
	pool    *x509.CertPool
	// chain follows every leaf this CA hands out: the signer's own
	// certificate, or the cross certificate by which the CA it replaced
	// vouches for it, so that peers still trusting that one verify.
	chain []byte
	// bundle is trusted in PEM, made once: every node's stream reads it.
	bundle []byte
}

func newCA(k caKeys) *CA {
	ca := &CA{}
	ca.state.Store(stateOf(k, []*x509.Certificate{k.cert}, k.cert.Raw))
	return ca
}

func stateOf(signer caKeys, trusted []*x509.Certificate, chain []byte) *caState {
	pool := x509.NewCertPool()
	var bundle bytes.Buffer
	for _, c := range trusted {
		pool.AddCert(c)
		_ = pem.Encode(&bundle, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return &caState{signer: signer, trusted: trusted, pool: pool, chain: chain, bundle: bundle.Bytes()}
}

func (ca *CA) keys() caKeys { return ca.state.Load().signer }

// Cert is the certificate of the CA that signs now.
func (ca *CA) Cert() *x509.Certificate { return ca.keys().cert }

// CertPEM is Cert in PEM.
func (ca *CA) CertPEM() []byte { return ca.keys().certPEM }

const (
	caCertFile = "ca.crt"
	caKeyFile  = "ca.key"
)

// LoadOrCreateCA reads the CA from dir, creating it when absent.
func LoadOrCreateCA(dir string) (*CA, error) {
	ca, err := LoadCA(dir)
	if err == nil {
		return ca, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if ca, err = NewCA(); err != nil {
		return nil, err
	}
	if err := ca.Save(dir); err != nil {
		return nil, err
	}
	return ca, nil
}

// NewCA makes a new cluster CA in memory.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "orch cluster CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CA certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return ParseCA(certPEM, keyPEM)
}

// Save writes the CA's certificate and key into dir, the master's local
// copy: it lets a restarted master serve TLS before Raft has caught up.
func (ca *CA) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	k := ca.keys()
	if err := writeFileAtomic(filepath.Join(dir, caKeyFile), k.keyPEM, 0o600); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, caCertFile), k.certPEM, 0o644)
}

// LoadCA reads an existing CA from dir.
func LoadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, caCertFile))
	if err != nil {
		return nil, fmt.Errorf("pki: read CA certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, caKeyFile))
	if err != nil {
		return nil, fmt.Errorf("pki: read CA key: %w", err)
	}
	return ParseCA(certPEM, keyPEM)
}

// ParseCA builds a CA from its PEM certificate and key (as the replicated
// cluster config carries them), checking that they belong together.
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, errors.New("pki: CA certificate is not a CA")
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, errors.New("pki: CA key does not match the CA certificate")
	}
	return newCA(caKeys{cert: cert, certPEM: certPEM, keyPEM: keyPEM, key: key}), nil
}

// ParseCACert builds a CA that can verify but not sign, from its
// certificate alone: what a joining machine holds before it is trusted.
func ParseCACert(certPEM []byte) (*CA, error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, errors.New("pki: CA certificate is not a CA")
	}
	return newCA(caKeys{cert: cert, certPEM: certPEM}), nil
}

// KeyPEM is the CA's private key in PEM. It is replicated to every master
// (any of them may lead and sign); never serve it to anything but a master.
func (ca *CA) KeyPEM() []byte { return ca.keys().keyPEM }

// Digest is the SHA-256 of the CA certificate, as carried in join tokens.
func (ca *CA) Digest() string { return CertDigest(ca.Cert().Raw) }

// CertDigest is the hex SHA-256 of a DER certificate.
func CertDigest(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// Pool holds the CA certificates whose leaves are trusted now: one, or
// two while the CA is replaced. Callers must not change it.
func (ca *CA) Pool() *x509.CertPool { return ca.state.Load().pool }

// IssueServer creates a key and a certificate for a TLS server (and client)
// valid for the given host names and IPs.
func (ca *CA) IssueServer(commonName string, hosts []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: generate key for %s: %w", commonName, err)
	}
	der, err := ca.sign(commonName, hosts, key.Public())
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.state.Load().chain}, PrivateKey: key}, nil
}

// SignCSR signs a PEM certificate request. The names come from the caller,
// not from the CSR, so a requester cannot ask for a name it does not own.
func (ca *CA) SignCSR(csrPEM []byte, commonName string, hosts []string) ([]byte, error) {
	pub, err := csrPublicKey(csrPEM)
	if err != nil {
		return nil, err
	}
	der, err := ca.sign(commonName, hosts, pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// csrPublicKey is the key of a PEM certificate request whose signature
// proves its sender holds the private key.
func csrPublicKey(csrPEM []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(csrPEM)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("pki: csr: not a PEM certificate request")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: csr: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("pki: csr signature: %w", err)
	}
	return csr.PublicKey, nil
}

// CSRKeyDigest names the key of a PEM certificate request whose signature
// proves its sender holds it: the hex SHA-256 of its SubjectPublicKeyInfo.
// A node's first registration records it, so that a retry whose answer was
// lost (the same key, the same join token) is the same machine.
func CSRKeyDigest(csrPEM []byte) (string, error) {
	pub, err := csrPublicKey(csrPEM)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("pki: csr key: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

func (ca *CA) sign(commonName string, hosts []string, pub crypto.PublicKey) ([]byte, error) {
	tmpl := ca.leafTemplate(commonName, hosts)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	return ca.signTemplate(tmpl, pub)
}

// leafTemplate is a leaf certificate for commonName, valid for the CA's
// leaf lifetime and for the host names and IPs in hosts.
func (ca *CA) leafTemplate(commonName string, hosts []string) *x509.Certificate {
	notBefore, notAfter := ca.validity()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return tmpl
}

func (ca *CA) signTemplate(tmpl *x509.Certificate, pub crypto.PublicKey) ([]byte, error) {
	k := ca.keys()
	if k.key == nil {
		return nil, errors.New("pki: this CA has no key (certificate only): it cannot sign")
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, k.cert, pub, k.key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign certificate for %s: %w", tmpl.Subject.CommonName, err)
	}
	return der, nil
}

// NewKey makes a key of the kind every orch certificate holds.
func NewKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate key: %w", err)
	}
	return key, nil
}

// NewCSR makes a key and a certificate request for it.
func NewCSR(commonName string) (csrPEM []byte, key *ecdsa.PrivateKey, err error) {
	if key, err = NewKey(); err != nil {
		return nil, nil, err
	}
	csrPEM, err = CSRFor(commonName, key)
	return csrPEM, key, err
}

// CSRFor makes a certificate request for a key made before: a registration
// retried after its answer was lost asks again for the same key.
func CSRFor(commonName string, key crypto.Signer) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: commonName}}, key)
	if err != nil {
		return nil, fmt.Errorf("pki: create csr: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// ParseKey reads a PEM private key (as EncodeKey writes it).
func ParseKey(keyPEM []byte) (crypto.Signer, error) { return parseKey(keyPEM) }

// EncodeKey renders a private key as PEM.
func EncodeKey(key *ecdsa.PrivateKey) ([]byte, error) { return encodeKey(key) }

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func parseKey(keyPEM []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("pki: key: not PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("pki: key: not a signing key")
	}
	return signer, nil
}

func parseCert(certPEM []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return nil, errors.New("pki: certificate: not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: certificate: %w", err)
	}
	return cert, nil
}

// ParseCertPEM parses one PEM certificate.
func ParseCertPEM(certPEM []byte) (*x509.Certificate, error) { return parseCert(certPEM) }

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(fmt.Sprintf("pki: crypto/rand failed: %v", err))
	}
	return n
}
