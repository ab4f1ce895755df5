package pki

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"sync/atomic"
	"time"
)

// Authority is the cluster CA as a master uses it while it may be
// replaced (docs/ca-rotation.md): which CA is the cluster's (Current),
// which one signs and what rides after the leaves it signs (Signer, the
// cross certificate during and after a rotation), and which CAs are
// trusted (Trust). A master updates it when the replicated rotation
// state moves; every TLS config built from it reads it per handshake.
// Safe for concurrent use.
type Authority struct {
	trust    *TrustBundle
	lifetime time.Duration
	st       atomic.Pointer[authorityState]
}

type authorityState struct {
	current *CA
	signer  *CA
	chain   [][]byte // DER after the signer's leaves
	served  []byte   // what GET /v1/ca answers
}

// AuthorityState is one setting of an Authority.
type AuthorityState struct {
	Current *CA    // the cluster CA (ClusterConfig.ca_cert_pem)
	Signer  *CA    // signs from now on (nil: Current)
	Chain   []byte // PEM certificates sent after each leaf Signer signs (nil: Signer's own)
	Trust   []byte // PEM of every CA trusted (nil: Current only)
	Served  []byte // PEM answered by GET /v1/ca (nil: Current's)
}

// NewAuthority is an authority of ca alone; leaves it signs are valid for
// lifetime (DefaultLeafLifetime when <= 0).
func NewAuthority(ca *CA, lifetime time.Duration) *Authority {
	a := &Authority{trust: &TrustBundle{}, lifetime: lifetime}
	if err := a.Set(AuthorityState{Current: ca}); err != nil {
		panic("pki: a CA that parsed cannot be trusted: " + err.Error())
	}
	return a
}

// Set replaces the authority's state for every later signature and
// handshake.
func (a *Authority) Set(s AuthorityState) error {
	if s.Current == nil {
		return errors.New("pki: authority: no current CA")
	}
	if s.Signer == nil {
		s.Signer = s.Current
	}
	st := &authorityState{current: s.Current, signer: s.Signer, served: s.Served}
	if st.served == nil {
		st.served = s.Current.CertPEM
	}
	st.chain = [][]byte{s.Signer.Cert.Raw}
	if s.Chain != nil {
		st.chain = pemBlocks(s.Chain)
	}
	trust := s.Trust
	if trust == nil {
		trust = s.Current.CertPEM
	}
	set, err := parseTrustSet(trust)
	if err != nil {
		return err
	}
	for _, ca := range []*CA{s.Current, s.Signer} {
		// Set on a CA not shared yet; one already set is left alone.
		if ca.leafLifetime != a.lifetime {
			ca.SetLeafLifetime(a.lifetime)
		}
	}
	a.trust.p.Store(set)
	a.st.Store(st)
	return nil
}

func pemBlocks(pemBytes []byte) [][]byte {
	var out [][]byte
	for rest := pemBytes; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return out
		}
		out = append(out, block.Bytes)
	}
}

// Current is the cluster CA (the one being replaced during a rotation).
func (a *Authority) Current() *CA { return a.st.Load().current }

// Signer is the CA that signs now.
func (a *Authority) Signer() *CA { return a.st.Load().signer }

// Trust is the bundle of trusted CAs.
func (a *Authority) Trust() *TrustBundle { return a.trust }

// ServedPEM is what GET /v1/ca answers: the cluster CA first, then, after
// a rotation, the cross certificate and the retired CA (so that a join
// token pinning the retired CA can check the hand-over, AcceptServedCA).
func (a *Authority) ServedPEM() []byte { return bytes.Clone(a.st.Load().served) }

// Digest is the cluster CA's digest, carried in new join tokens.
func (a *Authority) Digest() string { return a.Current().Digest() }

// IssueMaster issues a master's certificate with the current signer; the
// chain carries the cross certificate when the signer is a successor.
func (a *Authority) IssueMaster(hosts []string) (tls.Certificate, error) {
	st := a.st.Load()
	cert, err := st.signer.IssueMaster(hosts)
	if err != nil {
		return cert, err
	}
	cert.Certificate = append(cert.Certificate[:1:1], st.chain...)
	return cert, nil
}

// SignNodeClient is CA.SignNodeClient with the current signer.
func (a *Authority) SignNodeClient(csrPEM []byte, id NodeIdentity) ([]byte, error) {
	return a.Signer().SignNodeClient(csrPEM, id)
}

// SignNodeServer is CA.SignNodeServer with the current signer, followed
// by the chain (PEM) a client that trusts only the old CA needs.
func (a *Authority) SignNodeServer(csrPEM []byte, id NodeIdentity, hosts []string) ([]byte, error) {
	st := a.st.Load()
	leaf, err := st.signer.SignNodeServer(csrPEM, id, hosts)
	if err != nil {
		return nil, err
	}
	for _, der := range st.chain {
		leaf = append(leaf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	return leaf, nil
}

// VerifyMaster is CA.VerifyMaster against every trusted CA.
func (a *Authority) VerifyMaster(rawCerts [][]byte) error {
	return verifyMaster(a.trust.Pool(), rawCerts)
}

// MasterServerTLS is CA.MasterServerTLS against every trusted CA.
func (a *Authority) MasterServerTLS(cert *LiveCert) *tls.Config {
	return masterServerTLS(cert, a.VerifyMaster)
}

// MasterClientTLS is CA.MasterClientTLS against every trusted CA.
func (a *Authority) MasterClientTLS(cert *LiveCert) *tls.Config {
	return masterClientTLS(cert, a.VerifyMaster)
}
