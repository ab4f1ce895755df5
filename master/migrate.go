package master

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/orch-io/orch/master/auth"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// migrateCredentials moves the credentials of a data directory written
// before they were replicated (the CA and tokens.json, in files of the
// bootstrap master only) into Raft. Only the leader does it, once its store
// has caught up; afterwards every master authenticates from the store.
func (m *Master) migrateCredentials(ctx context.Context) error {
	if !m.raft.IsLeader() || m.migrated.Load() {
		return nil
	}
	if m.store.Config().GetCaCertPem() != "" {
		m.migrated.Store(true)
		return nil
	}
	index, err := m.raft.VerifyLeader(ctx)
	if err == nil {
		err = m.store.WaitIndex(ctx, index)
	}
	if err != nil {
		return err
	}
	cfg := &orchpb.ClusterConfig{}
	if old := m.store.Config(); old != nil {
		if old.GetCaCertPem() != "" {
			m.migrated.Store(true)
			return nil
		}
		cfg = proto.Clone(old).(*orchpb.ClusterConfig)
	}
	cfg.CaCertPem, cfg.CaKeyPem = string(m.ca.CertPEM()), string(m.ca.KeyPEM())
	if cfg.ClusterId == "" {
		cfg.ClusterId = m.ca.Digest()[:16]
	}
	if cfg.ClusterCidr == "" {
		cfg.ClusterCidr = m.cfg.ClusterCIDR
	}
	cmds := []*orchpb.Command{{Op: &orchpb.Command_SetClusterConfig{SetClusterConfig: &orchpb.SetClusterConfig{Config: cfg}}}}
	legacy, err := auth.ReadLegacyTokens(filepath.Join(m.cfg.DataDir, pkiDir))
	if err != nil {
		return err
	}
	for digest, role := range legacy {
		if m.store.Token(digest) == nil {
			cmds = append(cmds, &orchpb.Command{Op: &orchpb.Command_PutToken{PutToken: &orchpb.PutToken{Token: &orchpb.Token{Sha256: digest, Role: string(role)}}}})
		}
	}
	for _, cmd := range cmds {
		res, err := m.raft.Apply(ctx, cmd)
		if err == nil && res.GetErrorCode() != "" {
			err = errors.New(res.GetError())
		}
		if err != nil {
			return err
		}
	}
	if len(legacy) > 0 {
		// Never read again: the store is the truth from now on.
		if err := os.Rename(legacyTokensPath(m.cfg.DataDir), legacyTokensPath(m.cfg.DataDir)+".migrated"); err != nil {
			m.log.Warn("could not rename the old token file", "err", err)
		}
	}
	m.log.Info("moved the cluster CA and tokens into replicated state", "tokens", len(legacy))
	m.migrated.Store(true)
	return nil
}

func legacyTokensPath(dataDir string) string { return filepath.Join(dataDir, pkiDir, "tokens.json") }

// hasLegacyCredentials: the data directory has a token file from before
// credentials were replicated.
func hasLegacyCredentials(dataDir string) bool {
	_, err := os.Stat(legacyTokensPath(dataDir))
	return err == nil
}

var (
	errDigestMismatch = errors.New("master: image digest mismatch")
	errNoPeerHasImage = errors.New("master: no other master holds the image")
)
