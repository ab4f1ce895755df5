package pki

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestCAFilesSynced: Save fsyncs each CA file before its rename and the
// directory after it, so a crash never leaves a truncated CA key.
func TestCAFilesSynced(t *testing.T) {
	var synced []string
	syncFile = func(f *os.File) error {
		synced = append(synced, f.Name())
		return f.Sync()
	}
	t.Cleanup(func() { syncFile = (*os.File).Sync })
	dir := filepath.Join(t.TempDir(), "pki")
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Save(dir); err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, caKeyFile+".tmp"), dir,
		filepath.Join(dir, caCertFile+".tmp"), dir,
	}
	if !slices.Equal(synced, want) {
		t.Fatalf("synced %q, want %q", synced, want)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".tmp" {
			t.Fatalf("left behind %s", e.Name())
		}
	}
	if _, err := LoadCA(dir); err != nil {
		t.Fatal(err)
	}
}
