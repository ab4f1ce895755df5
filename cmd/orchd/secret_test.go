package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/hollow"
	"github.com/orch-io/orch/master"
	orchpb "github.com/orch-io/orch/proto"
)

// TestBootstrapTokenFiles: bootstrap writes the join tokens to files only
// their owner reads and prints the paths, not the tokens; --token-file
// reads them back, and a hollow node joins with the token it gives.
func TestBootstrapTokenFiles(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv(client.EnvConfig, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	var out bytes.Buffer
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := master.Start(ctx, master.Config{DataDir: dir, APIAddr: "127.0.0.1:0", RaftAddr: "127.0.0.1:0",
		Bootstrap: true, Logger: quiet, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	printed := out.String()
	for _, file := range []string{master.AgentTokenFile, master.MasterTokenFile} {
		path := filepath.Join(dir, file)
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", file, info.Mode().Perm())
		}
		data, _ := os.ReadFile(path)
		secret := strings.TrimSpace(string(data))
		if !strings.Contains(printed, path) || strings.Contains(printed, secret) || strings.Contains(printed, secret[len(secret)-16:]) {
			t.Errorf("bootstrap output should name %s and hold no secret:\n%s", path, printed)
		}
	}
	if strings.Contains(printed, "ORCH-") {
		t.Errorf("bootstrap output holds a token:\n%s", printed)
	}

	token, err := (&secretFlags{file: filepath.Join(dir, master.AgentTokenFile)}).get()
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := hollow.Start(ctx, hollow.Config{Masters: []string{m.URL()}, Token: token, Count: 1, Prefix: "tf",
		Logger: quiet, Capacity: &orchpb.ResourceAmounts{CpuMillis: 1000, MemoryBytes: 1 << 30}})
	if err != nil {
		t.Fatalf("a node joining with the token from --token-file: %v", err)
	}
	fleet.Stop()
}

func TestSecretFlags(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	owner := write("owner", "  ORCH-1-x-agent-secret\n", 0o600)
	group := write("group", "ORCH-1-x-agent-secret\n", 0o640)
	world := write("world", "ORCH-1-x-agent-secret\n", 0o644)
	empty := write("empty", "\n", 0o600)
	tests := []struct {
		name    string
		flags   secretFlags
		want    string
		wantErr string
	}{
		{"token", secretFlags{value: "ORCH-1-inline "}, "ORCH-1-inline", ""},
		{"file, trimmed", secretFlags{file: owner}, "ORCH-1-x-agent-secret", ""},
		{"group-readable: warned, read", secretFlags{file: group}, "ORCH-1-x-agent-secret", ""},
		{"world-readable: refused", secretFlags{file: world}, "", "chmod 600"},
		{"empty file", secretFlags{file: empty}, "", "empty"},
		{"missing file", secretFlags{file: filepath.Join(dir, "nope")}, "", "no such file"},
		{"both", secretFlags{value: "x", file: owner}, "", "give one"},
		{"neither", secretFlags{}, "", ""},
	}
	for _, tt := range tests {
		got, err := tt.flags.get()
		if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: %q, %v; want %q, error with %q", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
	if _, err := (&secretFlags{file: filepath.Join(dir, "nope")}).get(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v does not wrap ErrNotExist", err)
	}
}
