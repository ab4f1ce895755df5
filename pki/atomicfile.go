package pki

import (
	"fmt"
	"os"
	"path/filepath"
)

// syncFile is os.File.Sync; a test replaces it to see what was synced.
var syncFile = (*os.File).Sync

// writeFileAtomic replaces path with data so that a crash at any moment
// leaves either the old file or the new one, never an empty or partial
// CA: the data is fsynced before the rename, and the directory after it,
// so the rename itself survives a power loss.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := writeSynced(tmp, data, mode); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("pki: sync the directory of %s: %w", path, err)
	}
	defer dir.Close()
	if err := syncFile(dir); err != nil {
		return fmt.Errorf("pki: sync the directory of %s: %w", path, err)
	}
	return nil
}

func writeSynced(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := syncFile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
