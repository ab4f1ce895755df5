// Package containerdtest starts a private containerd for a test and removes
// it, with every container it ran, when the test ends. It owns nothing else.
package containerdtest

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/orch-io/orch/agent/runtime/containerdproc"
)

// Start runs a private containerd for t, or skips t when the machine cannot
// (not root, or no containerd binary). Cleanup purges all its containers,
// stops it by PID and removes its directory.
func Start(t testing.TB) *containerdproc.Daemon {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("containerd tests need root")
	}
	if _, err := os.Stat(containerdproc.Binary()); err != nil {
		t.Skipf("containerd tests need %s: %v", containerdproc.Binary(), err)
	}
	// Not t.TempDir(): its long paths overflow the unix socket path limit.
	dir, err := os.MkdirTemp("/tmp", "ctrd")
	if err != nil {
		t.Fatalf("containerd temp dir: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := containerdproc.Start(ctx, dir, logger)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start containerd: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Purge(ctx); err != nil {
			t.Errorf("purge containerd: %v", err)
		}
		if err := d.Stop(); err != nil {
			t.Errorf("stop containerd: %v", err)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove containerd dir: %v", err)
		}
	})
	return d
}

// testWriter sends the daemon wrapper's warnings to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
