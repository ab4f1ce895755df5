package master

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/orch-io/orch/master/store"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// nextCADir holds the next CA while a replacement is under way, beside the
// current one in DATA/pki: a master restarted mid-replacement trusts both
// before Raft has replayed the phase.
const nextCADir = "next"

// apiTLSForClient is the API listener's TLS config for one handshake, with
// the client CAs trusted now.
func (m *Master) apiTLSForClient(*tls.ClientHelloInfo) (*tls.Config, error) {
	return &tls.Config{
		GetCertificate: m.cert.GetCertificate,
		MinVersion:     tls.VersionTLS12,
		ClientAuth:     tls.VerifyClientCertIfGiven,
		ClientCAs:      m.ca.Pool(),
	}, nil
}

// servedCA is the answer of /v1/ca: the CA that signs now, then, when it
// replaced (or is replacing) another, the cross certificate and that CA, so
// that a join token pinning the replaced CA still works.
func (m *Master) servedCA() []byte {
	out := append([]byte(nil), m.ca.CertPEM()...)
	cfg := m.store.Config()
	switch r := cfg.GetRotation(); {
	case r.GetPhase() == store.CAPhaseSign && r.GetNextCertPem() == string(m.ca.CertPEM()):
		out = append(append(out, r.GetCrossPem()...), cfg.GetCaCertPem()...)
	case r == nil && cfg.GetCrossPem() != "" && cfg.GetCaCertPem() == string(m.ca.CertPEM()):
		out = append(append(out, cfg.GetCrossPem()...), cfg.GetPreviousCertPem()...)
	}
	return out
}

// loadNextCA makes a restarted master trust the next CA it saved during a
// replacement, until the records say where the replacement stands.
func (m *Master) loadNextCA(ca *pki.CA) error {
	next, err := pki.LoadCA(filepath.Join(m.cfg.DataDir, pkiDir, nextCADir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("master: the next CA in %s: %w", nextCADir, err)
	}
	current, err := pki.ParseCA(ca.CertPEM(), ca.KeyPEM())
	if err != nil {
		return err
	}
	return ca.Adopt(current, next, pki.PhaseTrust, nil)
}

// followCA keeps this master's CA as the replicated records say, until ctx
// ends: the CAs it trusts, the one it signs with, and their copies in
// DATA/pki. A change of signer renews the master's own certificate at once
// and tells the dispatcher, whose streams carry the trusted CAs to nodes.
func (m *Master) followCA(ctx context.Context) {
	changed, cancel := m.store.Notify()
	defer cancel()
	var last *orchpb.ClusterConfig
	for {
		if cfg := m.store.Config(); cfg != last && cfg.GetCaCertPem() != "" {
			if err := m.adoptCA(cfg); err != nil {
				m.log.Error("could not follow the cluster CA", "err", err)
			}
			last = cfg
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

func (m *Master) adoptCA(cfg *orchpb.ClusterConfig) error {
	current, err := pki.ParseCA([]byte(cfg.GetCaCertPem()), []byte(cfg.GetCaKeyPem()))
	if err != nil {
		return fmt.Errorf("master: the cluster CA: %w", err)
	}
	var next *pki.CA
	phase, cross := "", []byte(cfg.GetCrossPem())
	if r := cfg.GetRotation(); r != nil {
		if next, err = pki.ParseCA([]byte(r.GetNextCertPem()), []byte(r.GetNextKeyPem())); err != nil {
			return fmt.Errorf("master: the next CA: %w", err)
		}
		phase, cross = r.GetPhase(), []byte(r.GetCrossPem())
	}
	signerBefore := m.ca.Digest()
	if err := m.ca.Adopt(current, next, phase, cross); err != nil {
		return err
	}
	if err := m.saveCAs(current, next); err != nil {
		return err
	}
	if m.ca.Digest() != signerBefore {
		m.log.Info("this master signs with another CA now", "ca", m.ca.Digest()[:16])
		cert, err := m.ca.IssueMaster(m.certHosts)
		if err != nil {
			return fmt.Errorf("master: renew this master's certificate for the new CA: %w", err)
		}
		m.cert.Store(cert)
	}
	if m.dispatcher != nil {
		m.dispatcher.CAChanged()
	}
	return nil
}

// saveCAs writes the current CA as DATA/pki/ca.* and the next one, while a
// replacement is under way, in DATA/pki/next; it removes the next one
// after.
func (m *Master) saveCAs(current, next *pki.CA) error {
	dir := filepath.Join(m.cfg.DataDir, pkiDir)
	if onDisk, err := pki.LoadCA(dir); err != nil || onDisk.Digest() != current.Digest() {
		if err := current.Save(dir); err != nil {
			return err
		}
	}
	nextDir := filepath.Join(dir, nextCADir)
	if next == nil {
		if err := os.RemoveAll(nextDir); err != nil {
			return fmt.Errorf("master: remove the replaced CA's successor copy: %w", err)
		}
		return nil
	}
	return next.Save(nextDir)
}
