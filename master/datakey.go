package master

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/orch-io/orch/master/seal"
	orchpb "github.com/orch-io/orch/proto"
)

// The data key that seals secret values lives in DATA/data.key (0600) and
// is never replicated: the bootstrap master makes it, a joining master gets
// it with the CA key over the authenticated join, a restore installs the
// one given with --encryption-key-file (docs/secrets.md).

// loadDataKey installs Config.EncryptionKeyFile when given, then reads
// DATA/data.key, making one when there is none (a new cluster, or a data
// dir from before secrets).
func (m *Master) loadDataKey() (*seal.Key, error) {
	path := filepath.Join(m.cfg.DataDir, seal.FileName)
	if f := m.cfg.EncryptionKeyFile; f != "" {
		k, err := seal.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("master: --encryption-key-file: %w", err)
		}
		if err := seal.WriteFile(path, k); err != nil {
			return nil, fmt.Errorf("master: %w", err)
		}
		return k, nil
	}
	k, created, err := seal.LoadOrCreate(m.cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	if created {
		m.log.Info("made a new data key for secrets", "path", path, "key", k.ID())
	}
	return k, nil
}

// saveJoinedDataKey writes the key a joining master received with the CA.
// A cluster from before secrets sends none: this master then makes its own
// at start (see docs/secrets.md on upgrading).
func (m *Master) saveJoinedDataKey(hexKey string) error {
	if hexKey == "" || m.cfg.EncryptionKeyFile != "" {
		return nil
	}
	raw, err := hex.DecodeString(hexKey)
	if err != nil {
		return fmt.Errorf("data key from the cluster: %w", err)
	}
	k, err := seal.New(raw)
	if err != nil {
		return fmt.Errorf("data key from the cluster: %w", err)
	}
	return seal.WriteFile(filepath.Join(m.cfg.DataDir, seal.FileName), k)
}

// ErrNoDataKey: a backup holds sealed secrets and no key was given.
var ErrNoDataKey = errors.New("master: the backup holds sealed secrets; give the data key with --encryption-key-file")

// checkBackupKey makes sure a restore can open the backup's secrets: they
// need the key of the cluster that wrote it, which a backup never holds.
func checkBackupKey(snap *orchpb.StateSnapshot, keyFile string) error {
	want := ""
	for _, s := range snap.GetSecrets() {
		for _, v := range s.GetData() {
			if id := seal.KeyIDOf(v); id != "" {
				want = id
			}
		}
	}
	if want == "" {
		return nil
	}
	if keyFile == "" {
		return fmt.Errorf("%w (DATA/%s of one of the old cluster's masters; key %s, %d secrets)", ErrNoDataKey, seal.FileName, want, len(snap.GetSecrets()))
	}
	k, err := seal.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("master: restore: --encryption-key-file: %w", err)
	}
	if k.ID() != want {
		return fmt.Errorf("master: restore: %s holds data key %s, but the backup's secrets are sealed with key %s", keyFile, k.ID(), want)
	}
	return nil
}
