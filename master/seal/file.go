package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FileName is the data key's file in a master's data dir.
const FileName = "data.key"

// ReadFile reads a key file: the key as 64 hex digits. A file other users
// may read is refused, since the key opens every secret of the cluster.
func ReadFile(path string) (*Key, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("data key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("data key file %s: mode %v lets other users read it; chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data key file: %w", err)
	}
	raw, err := hex.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil || len(raw) != KeySize {
		return nil, fmt.Errorf("data key file %s: want %d hex digits", path, 2*KeySize)
	}
	return New(raw)
}

// WriteFile writes k to path, mode 0600, through a temporary file so that
// a crash never leaves half a key.
func WriteFile(path string, k *Key) error {
	tmp := path + ".tmp"
	data := []byte(hex.EncodeToString(k.raw) + "\n")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write data key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write data key: %w", err)
	}
	return nil
}

// LoadOrCreate reads DIR/data.key, or makes a new key there when the file
// does not exist; created reports which.
func LoadOrCreate(dir string) (k *Key, created bool, err error) {
	path := filepath.Join(dir, FileName)
	k, err = ReadFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if k, err = Generate(); err != nil {
		return nil, false, err
	}
	if err := WriteFile(path, k); err != nil {
		return nil, false, err
	}
	return k, true, nil
}
