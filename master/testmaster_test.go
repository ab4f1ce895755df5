package master

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/orch-io/orch/api/client"
)

// startTestMaster bootstraps a one-master cluster in a temporary data dir
// with cfg's other settings, and returns it (stopped at the test's end)
// with a client holding its admin.conf.
func startTestMaster(t *testing.T, cfg Config) (*Master, *client.Client) {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.RaftAddr == "" {
		cfg.RaftAddr = "127.0.0.1:0"
	}
	cfg.APIAddr, cfg.Bootstrap, cfg.Out = "127.0.0.1:0", true, io.Discard
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	conf, _, err := client.LoadConfig(filepath.Join(cfg.DataDir, AdminConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := client.New(conf)
	if err != nil {
		t.Fatal(err)
	}
	return m, admin
}
