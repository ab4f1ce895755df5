package master

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/orch-io/orch/master/store"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// caFollowRetry is how soon a master tries again to take up a CA state
// it could not (a full disk, say).
const caFollowRetry = 5 * time.Second

// loadAuthority is the CA found at start, trusting too the next CA that
// DATA/pki/next.* holds when this master stopped mid-rotation: until Raft
// replays the phase, peers may already present certificates it signed.
func (m *Master) loadAuthority() (*pki.Authority, error) {
	a := pki.NewAuthority(m.ca, m.cfg.CertLifetime)
	next, err := pki.LoadNextCA(filepath.Join(m.cfg.DataDir, pkiDir))
	if errors.Is(err, os.ErrNotExist) {
		return a, nil
	}
	if err != nil {
		return nil, fmt.Errorf("master: next CA in %s: %w", m.cfg.DataDir, err)
	}
	trust := append(bytes.Clone(m.ca.CertPEM), next.CertPEM...)
	if err := a.Set(pki.AuthorityState{Current: m.ca, Trust: trust}); err != nil {
		return nil, fmt.Errorf("master: trust the next CA: %w", err)
	}
	return a, nil
}

// runCATrust makes this master follow the replicated CA state
// (docs/ca-rotation.md) the moment it applies a change: which CAs it
// trusts, which signs, what its data directory holds; and it re-issues
// its own certificate when the signer changes. Every master runs it, not
// only the leader, until ctx ends.
func (m *Master) runCATrust(ctx context.Context) {
	changed, cancel := m.store.Notify()
	defer cancel()
	var applied *orchpb.ClusterConfig
	for {
		if cfg := m.store.Config(); cfg != applied && cfg.GetCaCertPem() != "" {
			if err := m.followCA(cfg); err != nil {
				m.log.Error("could not take up the cluster's CA state", "err", err)
			} else {
				applied = cfg
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-time.After(caFollowRetry):
		}
	}
}

// followCA applies cfg's CA state: disk first, so that a restart comes
// back trusting at least what the master trusted before it.
func (m *Master) followCA(cfg *orchpb.ClusterConfig) error {
	state, err := authorityState(cfg, m.auth)
	if err != nil {
		return err
	}
	if err := m.saveCAFiles(cfg, state); err != nil {
		return err
	}
	before := m.auth.Signer()
	if err := m.auth.Set(state); err != nil {
		return fmt.Errorf("master: CA state: %w", err)
	}
	if m.auth.Signer() == before {
		return nil
	}
	cert, err := m.auth.IssueMaster(m.certHosts)
	if err != nil {
		return fmt.Errorf("master: re-issue this master's certificate: %w", err)
	}
	m.cert.Store(cert)
	m.log.Info("the cluster's signing CA changed: re-issued this master's certificate", "ca", m.auth.Signer().Digest()[:12])
	return nil
}

// authorityState is what cfg says this master trusts and signs with:
// the CA alone; both CAs in trust (the CA signs) and sign (the next one
// signs, the cross certificate after each leaf); after a rotation the new
// CA, with the cross certificate after each leaf until it expires, so
// that clients still trusting the retired CA verify the masters.
func authorityState(cfg *orchpb.ClusterConfig, cur *pki.Authority) (pki.AuthorityState, error) {
	current, err := caOf(cfg.GetCaCertPem(), cfg.GetCaKeyPem(), cur)
	if err != nil {
		return pki.AuthorityState{}, fmt.Errorf("master: the cluster CA: %w", err)
	}
	st := pki.AuthorityState{Current: current}
	if rot := cfg.GetRotation(); rot != nil {
		next, err := caOf(rot.GetNextCertPem(), rot.GetNextKeyPem(), cur)
		if err != nil {
			return st, fmt.Errorf("master: the next CA: %w", err)
		}
		st.Trust = []byte(store.TrustPEM(cfg))
		if rot.GetPhase() == store.CAPhaseSign {
			st.Signer, st.Chain = next, []byte(rot.GetCrossPem())
		}
		return st, nil
	}
	if cross := cfg.GetCrossPem(); cross != "" {
		if c, err := pki.ParseCertPEM([]byte(cross)); err == nil && time.Now().Before(c.NotAfter) {
			st.Chain = []byte(cross)
			st.Served = append(append(bytes.Clone(current.CertPEM), cross...), cfg.GetPreviousCertPem()...)
		}
	}
	return st, nil
}

// caOf is the CA of certPEM and keyPEM, the very object cur already
// holds when it is one of its own (shared objects are never modified).
func caOf(certPEM, keyPEM string, cur *pki.Authority) (*pki.CA, error) {
	for _, ca := range []*pki.CA{cur.Current(), cur.Signer()} {
		if string(ca.CertPEM) == certPEM && ca.KeyPEM() != nil {
			return ca, nil
		}
	}
	return pki.ParseCA([]byte(certPEM), []byte(keyPEM))
}

// saveCAFiles keeps DATA/pki in step: next.* during a rotation; after it,
// the new CA as ca.* and no next.*.
func (m *Master) saveCAFiles(cfg *orchpb.ClusterConfig, st pki.AuthorityState) error {
	dir := filepath.Join(m.cfg.DataDir, pkiDir)
	if rot := cfg.GetRotation(); rot != nil {
		if saved, err := os.ReadFile(filepath.Join(dir, "next.crt")); err == nil && string(saved) == rot.GetNextCertPem() {
			return nil
		}
		next, err := caOf(rot.GetNextCertPem(), rot.GetNextKeyPem(), m.auth)
		if err != nil {
			return err
		}
		return next.SaveNext(dir)
	}
	if saved, err := os.ReadFile(filepath.Join(dir, "ca.crt")); err != nil || string(saved) != cfg.GetCaCertPem() {
		if err := st.Current.Save(dir); err != nil {
			return err
		}
	}
	return pki.RemoveNextCA(dir)
}

// trustDigests are the digest of the CAs this master trusts and of the
// CA that issued the certificate it serves with.
func (m *Master) trustDigests() (trust, certCA string) {
	trust = m.auth.Trust().Digest()
	if leaf, err := pki.LeafOf(m.cert.Load()); err == nil {
		certCA = pki.IssuerDigest(leaf, m.auth.Trust().Certs())
	}
	return trust, certCA
}
