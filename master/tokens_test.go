package master

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/pki"
)

// TestTokenUseReachesRaft: a token's use is kept in memory until the
// master's next flush, then written through Raft.
func TestTokenUseReachesRaft(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, c := startTestMaster(t, Config{DataDir: dir})
	cfg, _, err := client.LoadConfig(filepath.Join(dir, AdminConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ListNodes(ctx); err != nil {
		t.Fatal(err)
	}
	admin := m.store.Token(pki.TokenDigest(cfg.Token))
	if admin.GetLastUsedAt() != 0 {
		t.Fatalf("a use was written before the flush: %v", admin)
	}
	list, err := c.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range list {
		if info.ID == admin.GetId() && info.LastUsed.IsZero() {
			t.Errorf("token list does not merge this master's unwritten use: %+v", info)
		}
	}
	if err := m.flushTokenUse(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.store.Token(pki.TokenDigest(cfg.Token)); got.GetLastUsedAt() == 0 {
		t.Errorf("after the flush: %v", got)
	}
}
