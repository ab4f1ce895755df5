package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/orch-io/orch/pki"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// identity is what the agent keeps across restarts so it can come back, and
// keep its replicas running, before any master answers.
type identity struct {
	NodeID      string `json:"nodeId"`
	Name        string `json:"name"`
	Subnet      string `json:"subnet"`
	ClusterCIDR string `json:"clusterCidr"`
}

func (a *Agent) path(name string) string { return filepath.Join(a.cfg.DataDir, name) }

func (a *Agent) loadIdentity() (*identity, error) {
	data, err := os.ReadFile(a.path("node.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agent: read identity: %w", err)
	}
	var id identity
	if err := json.Unmarshal(data, &id); err != nil {
		return nil, fmt.Errorf("agent: parse %s: %w", a.path("node.json"), err)
	}
	return &id, nil
}

func (a *Agent) saveIdentity(id *identity) error {
	data, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(a.path("node.json"), data, 0o600)
}

// caPool returns the cluster CA, fetching and pinning it on first join.
func (a *Agent) caPool(ctx context.Context) (*x509.CertPool, error) {
	pemBytes, err := os.ReadFile(a.path("ca.crt"))
	if errors.Is(err, os.ErrNotExist) {
		var lastErr error
		for _, u := range a.cfg.Masters {
			if pemBytes, lastErr = fetchCA(ctx, u, a.cfg.Token); lastErr == nil {
				break
			}
		}
		if lastErr != nil {
			return nil, lastErr
		}
		if err := writeAtomic(a.path("ca.crt"), pemBytes, 0o644); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("agent: read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("agent: %s holds no certificate", a.path("ca.crt"))
	}
	return pool, nil
}

// serverCertificate loads the agent's certificate for its own endpoint.
func (a *Agent) serverCertificate() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(a.path("agent.crt"), a.path("agent.key"))
	if err != nil {
		return nil, err
	}
	return &cert, nil
}

func (a *Agent) newCSR() ([]byte, error) {
	csr, key, err := pki.NewCSR("node:" + a.cfg.Name)
	if err != nil {
		return nil, err
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(a.path("agent.key.new"), keyPEM, 0o600); err != nil {
		return nil, err
	}
	return csr, nil
}

func (a *Agent) saveCertificate(certPEM string) error {
	if err := writeAtomic(a.path("agent.crt"), []byte(certPEM), 0o644); err != nil {
		return err
	}
	if err := os.Rename(a.path("agent.key.new"), a.path("agent.key")); err != nil {
		return fmt.Errorf("agent: install key: %w", err)
	}
	return nil
}

func (a *Agent) loadAssignments() (*orchpb.AssignmentSet, error) {
	data, err := os.ReadFile(a.path("assignments.pb"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agent: read saved assignments: %w", err)
	}
	var set orchpb.AssignmentSet
	if err := proto.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("agent: parse saved assignments: %w", err)
	}
	return &set, nil
}

func (a *Agent) saveAssignments(set *orchpb.AssignmentSet) error {
	data, err := proto.Marshal(set)
	if err != nil {
		return err
	}
	return writeAtomic(a.path("assignments.pb"), data, 0o600)
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("agent: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("agent: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("agent: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("agent: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("agent: write %s: %w", path, err)
	}
	return nil
}
