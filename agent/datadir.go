package agent

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// dataDir is the agent's directory: what it keeps across restarts so that
// it comes back, and keeps its replicas running, before any master answers.
//
//	node.json            identity: node id, name, subnet, cluster CIDR
//	ca.crt               the cluster CA, pinned at the first join
//	agent.key            the node's key (agent.key.new while a
//	                     registration is under way)
//	node.crt             its client certificate (node:NAME), for the masters
//	agent.crt            its server certificate, for its own endpoint
//	assignments.pb       the last assignment set
//	endpoints.pb         the DNS table
//	replicas/ID.json     a replica's restarts, start time, address, verdict
//	replicas/ID.etc/     its resolv.conf and hosts
//	replicas/ID.secrets/ a tmpfs per secret it mounts (secretmounts.go)
//	replicas/ID.configs/ the configs it mounts
//	logs/                replicas' output (the logs package)
//
// Every file is replaced whole (writeAtomic), so a crash leaves the old one
// or the new one.
type dataDir string

func (d dataDir) path(name string) string { return filepath.Join(string(d), name) }

// identity is who the masters say this node is.
type identity struct {
	NodeID      string `json:"nodeId"`
	Name        string `json:"name"`
	Subnet      string `json:"subnet"`
	ClusterCIDR string `json:"clusterCidr"`
}

func (d dataDir) loadIdentity() (*identity, error) {
	data, err := os.ReadFile(d.path("node.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agent: read identity: %w", err)
	}
	var id identity
	if err := json.Unmarshal(data, &id); err != nil {
		return nil, fmt.Errorf("agent: parse %s: %w", d.path("node.json"), err)
	}
	return &id, nil
}

func (d dataDir) saveIdentity(id *identity) error {
	data, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(d.path("node.json"), data, 0o600)
}

// caBundle returns the CAs the node trusts: fetched from the first of
// masters that answers and pinned on first join, then as CA replacements
// rewrote it.
func (d dataDir) caBundle(ctx context.Context, masters []string, token string) ([]byte, error) {
	pemBytes, err := os.ReadFile(d.path("ca.crt"))
	if errors.Is(err, os.ErrNotExist) {
		var lastErr error
		for _, u := range masters {
			if pemBytes, lastErr = fetchCA(ctx, u, token); lastErr == nil {
				break
			}
		}
		if lastErr != nil {
			return nil, lastErr
		}
		if err := writeAtomic(d.path("ca.crt"), pemBytes, 0o644); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("agent: read CA: %w", err)
	}
	return pemBytes, nil
}

// serverCertificate loads the agent's certificate for its own endpoint.
func (d dataDir) serverCertificate() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(d.path("agent.crt"), d.path("agent.key"))
	if err != nil {
		return nil, err
	}
	return &cert, nil
}

// newCSR asks for a certificate for the key kept aside until
// saveCertificates installs it with the certificate the master signs: the
// key of an earlier request that was never answered when there is one (the
// master may have registered the node with it and only the answer was
// lost: the same key gets the node back), else a new one.
func (d dataDir) newCSR(name string) ([]byte, error) {
	if keyPEM, err := os.ReadFile(d.path("agent.key.new")); err == nil {
		if key, err := pki.ParseKey(keyPEM); err == nil {
			return pki.CSRFor(pki.NodePrefix+name, key)
		}
	}
	csr, key, err := pki.NewCSR(pki.NodePrefix + name)
	if err != nil {
		return nil, err
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(d.path("agent.key.new"), keyPEM, 0o600); err != nil {
		return nil, err
	}
	return csr, nil
}

// clientCertificate loads the node's client certificate, with which it
// calls the masters once registered.
func (d dataDir) clientCertificate() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(d.path("node.crt"), d.path("agent.key"))
	if err != nil {
		return nil, err
	}
	return &cert, nil
}

// saveCertificates installs the certificates a registration answered with
// the key newCSR made. The three files must change together (both
// certificates are for that key), so all are staged first; node.crt.new,
// written last, marks the set complete, and is installed last, so that
// finishSave can complete a save a crash interrupted.
func (d dataDir) saveCertificates(clientPEM, serverPEM string) error {
	if err := writeAtomic(d.path("agent.crt.new"), []byte(serverPEM), 0o644); err != nil {
		return err
	}
	if err := writeAtomic(d.path("node.crt.new"), []byte(clientPEM), 0o644); err != nil {
		return err
	}
	return d.finishSave()
}

// finishSave installs a staged, complete set of certificates, if any: the
// key, then the endpoint's certificate, then the client certificate.
func (d dataDir) finishSave() error {
	if _, err := os.Stat(d.path("node.crt.new")); errors.Is(err, os.ErrNotExist) {
		return nil // nothing staged, or only a request that was never answered
	}
	for _, name := range []string{"agent.key", "agent.crt", "node.crt"} {
		err := os.Rename(d.path(name+".new"), d.path(name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("agent: install %s: %w", name, err)
		}
	}
	return nil
}

func (d dataDir) loadAssignments() (*orchpb.AssignmentSet, error) {
	var set orchpb.AssignmentSet
	if ok, err := d.loadProto("assignments.pb", "assignments", &set); !ok || err != nil {
		return nil, err
	}
	return &set, nil
}

func (d dataDir) saveAssignments(set *orchpb.AssignmentSet) error {
	return d.saveProto("assignments.pb", savedSet(set))
}

// loadEndpoints returns the saved DNS table as an update that replaces
// the whole table (nil when none was saved).
func (d dataDir) loadEndpoints() (*orchpb.EndpointUpdate, error) {
	var u orchpb.EndpointUpdate
	if ok, err := d.loadProto("endpoints.pb", "endpoints", &u); !ok || err != nil {
		return nil, err
	}
	u.Reset_ = true
	return &u, nil
}

func (d dataDir) saveEndpoints(all *orchpb.EndpointUpdate) error {
	return d.saveProto("endpoints.pb", all)
}

// loadProto reads file name into m; false (and no error) when it was never
// saved.
func (d dataDir) loadProto(name, what string, m proto.Message) (bool, error) {
	data, err := os.ReadFile(d.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("agent: read saved %s: %w", what, err)
	}
	if err := proto.Unmarshal(data, m); err != nil {
		return false, fmt.Errorf("agent: parse saved %s: %w", what, err)
	}
	return true, nil
}

func (d dataDir) saveProto(name string, m proto.Message) error {
	data, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("agent: encode %s: %w", name, err)
	}
	return writeAtomic(d.path(name), data, 0o600)
}

// replicaState is where a replica's workerState is saved.
func (d dataDir) replicaState(replicaID string) string {
	return filepath.Join(string(d), "replicas", replicaID+".json")
}

// replicaEtc holds a replica's resolv.conf and hosts.
func (d dataDir) replicaEtc(replicaID string) string {
	return filepath.Join(string(d), "replicas", replicaID+".etc")
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
