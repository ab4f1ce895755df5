package master

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/orch-io/orch/master/backup"

	"github.com/orch-io/orch/pki"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/raftnode"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// Restore starts a new single-master cluster from a backup (the bytes of
// GET /v1/snapshot) in an empty data directory: disaster recovery. The
// backup is checked whole (backup.Decode) before anything is written. The
// state comes back whole (services, replicas, nodes, images, the CA and
// every token, so agents and admin.conf files keep working); the old
// masters do not. Sealed secrets need the old cluster's data key
// (Config.EncryptionKeyFile), checked before anything is written. It writes a fresh admin credential to DIR/admin.conf.
func Restore(ctx context.Context, cfg Config, data []byte) (*Master, error) {
	snap, err := backup.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("master: restore: %w", err)
	}
	if err := checkBackupKey(snap, cfg.EncryptionKeyFile); err != nil {
		return nil, err
	}
	if has, err := raftnode.HasState(cfg.DataDir); err != nil {
		return nil, err
	} else if has {
		return nil, fmt.Errorf("master: restore: %s already holds a cluster's state; restore into an empty directory", cfg.DataDir)
	}
	if cfg.NodeID == "" {
		cfg.NodeID = "master-" + cfg.RaftAddr
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("master: data dir: %w", err)
	}
	caDir := filepath.Join(cfg.DataDir, pkiDir)
	var ca *pki.CA
	if c := snap.GetConfig(); c.GetCaCertPem() != "" {
		if ca, err = pki.ParseCA([]byte(c.GetCaCertPem()), []byte(c.GetCaKeyPem())); err == nil {
			err = ca.Save(caDir)
		}
	} else {
		// A backup from before the CA was replicated: a new CA, and the
		// agents join again.
		ca, err = pki.LoadOrCreateCA(caDir)
		if err == nil {
			if snap.Config == nil {
				snap.Config = &orchpb.ClusterConfig{}
			}
			snap.Config.CaCertPem, snap.Config.CaKeyPem = string(ca.CertPEM()), string(ca.KeyPEM())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("master: restore: %w", err)
	}
	admin, digest, err := auth.NewToken(ca.Digest(), auth.RoleAdmin)
	if err != nil {
		return nil, err
	}
	snap.Tokens = append(snap.Tokens, &orchpb.Token{Sha256: digest, Role: string(auth.RoleAdmin)})
	// The old masters are not members of the new cluster; this one records
	// itself once it runs.
	snap.Masters = nil
	state, err := proto.MarshalOptions{Deterministic: true}.Marshal(snap)
	if err != nil {
		return nil, err
	}
	if err := raftnode.Seed(cfg.DataDir, cfg.NodeID, cfg.RaftAddr, snap.GetIndex(), state, cfg.Logger); err != nil {
		return nil, fmt.Errorf("master: restore: %w", err)
	}
	cfg.Bootstrap, cfg.Join = false, nil
	m, err := Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(cfg.DataDir, AdminConfigFile)
	if err := client.WriteConfig(confPath, &client.Config{Server: m.URL(), Token: admin, CA: string(ca.CertPEM())}); err != nil {
		m.Stop()
		return nil, fmt.Errorf("master: write %s: %w", confPath, err)
	}
	m.log.Info("restored the cluster from a backup", "index", snap.GetIndex(), "services", len(snap.GetServices()), "admin", confPath)
	return m, nil
}
