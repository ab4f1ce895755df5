package client

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func writeFile(t *testing.T, path, server string) {
	t.Helper()
	if err := WriteConfig(path, &Config{Server: server, Token: "t-" + server}); err != nil {
		t.Fatal(err)
	}
}

func TestLoadConfigOrder(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir := t.TempDir()
	explicit := filepath.Join(dir, "explicit.conf")
	env := filepath.Join(dir, "env.conf")
	def := filepath.Join(home, ".orch", "config")
	writeFile(t, explicit, "https://explicit:7400")
	writeFile(t, env, "https://env:7400")
	writeFile(t, def, "https://default:7400")

	tests := []struct {
		name     string
		flag     string
		env      string
		wantPath string
	}{
		{"flag beats env and default", explicit, env, explicit},
		{"env beats default", "", env, env},
		{"default last", "", "", def},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvConfig, tt.env)
			cfg, path, err := LoadConfig(tt.flag)
			if err != nil {
				t.Fatal(err)
			}
			if path != tt.wantPath {
				t.Errorf("path = %s, want %s", path, tt.wantPath)
			}
			want := map[string]string{explicit: "https://explicit:7400", env: "https://env:7400", def: "https://default:7400"}[tt.wantPath]
			if cfg.Server != want || cfg.Token != "t-"+want {
				t.Errorf("config = %+v, want server %s", cfg, want)
			}
		})
	}
}

func TestLoadConfigMissing(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv(EnvConfig, "")
	_, path, err := LoadConfig("")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if filepath.Base(path) != "config" {
		t.Errorf("path = %s", path)
	}
	if _, _, err := LoadConfig(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("explicit missing: err = %v", err)
	}
}

func TestWriteConfigModesAndRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "config")
	in := &Config{Server: "https://127.0.0.1:7400,https://127.0.0.2:7400", Token: "secret", CA: "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"}
	if err := WriteConfig(path, in); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want 0600", st.Mode().Perm())
	}
	dst, _ := os.Stat(filepath.Dir(path))
	if dst.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, want 0700", dst.Mode().Perm())
	}
	out, _, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if *out != *in {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
	// Overwriting leaves no temporary files behind.
	if err := WriteConfig(path, &Config{Server: "https://x"}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the config", len(entries))
	}
}

func TestNewRejectsBadServers(t *testing.T) {
	for _, s := range []string{"", " , ", "ftp://x", "localhost:7400", "https://"} {
		if _, err := New(&Config{Server: s}); err == nil {
			t.Errorf("New(server %q) succeeded", s)
		}
	}
	if _, err := New(&Config{Server: "https://127.0.0.1:7400", CA: "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"}); err == nil {
		t.Error("New accepted a CA without a certificate")
	}
}
