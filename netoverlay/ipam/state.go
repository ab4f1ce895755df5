package ipam

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
)

const stateFile = "ipam.json"

// state is the on-disk form. Owner -> address is enough: the reverse index is
// rebuilt on load.
type state struct {
	Subnet      netip.Prefix          `json:"subnet"`
	Allocations map[string]netip.Addr `json:"allocations"`
}

func statePath(dir string) string { return filepath.Join(dir, stateFile) }

func load(path string) (state, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return state{}, false, nil
	}
	if err != nil {
		return state{}, false, fmt.Errorf("ipam: read state %s: %w", path, err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return state{}, false, fmt.Errorf("ipam: parse state %s: %w", path, err)
	}
	return st, true, nil
}

// save writes the state through a temporary file and a rename, so a crash
// leaves either the old or the new state, never a torn one.
func save(path string, st state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("ipam: encode state %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("ipam: state dir %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, stateFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("ipam: write state %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("ipam: write state %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("ipam: sync state %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("ipam: write state %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("ipam: replace state %s: %w", path, err)
	}
	// The rename is durable only once the directory entry is.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("ipam: remove state %s: %w", path, err)
	}
	return nil
}
