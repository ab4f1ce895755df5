package raftnode

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestConcurrentApplies: proposals from many goroutines (as API handlers
// make them) each get their own result and index.
func TestConcurrentApplies(t *testing.T) {
	m := newMaster(t, "m1", newTestLogger(t))
	m.start(true, nil)
	leaderOf(t, m)
	const n = 64
	var wg sync.WaitGroup
	indexes := make(chan uint64, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := m.node.Apply(ctxT(t), putService(fmt.Sprintf("s%d", i), 1))
			if err != nil {
				errs <- err
				return
			}
			if res.ErrorCode != "" {
				errs <- fmt.Errorf("%s: %s", res.ErrorCode, res.Error)
				return
			}
			indexes <- res.Index
		}()
	}
	wg.Wait()
	close(errs)
	close(indexes)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for idx := range indexes {
		if seen[idx] {
			t.Fatalf("index %d returned twice", idx)
		}
		seen[idx] = true
	}
	if got := len(m.store.Services("default")); got != n {
		t.Fatalf("%d services stored, want %d", got, n)
	}
}

func TestHCLoggerLevels(t *testing.T) {
	var buf bytes.Buffer
	info := newHCLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), "raft")
	info.Info("chatty", "k", 1)
	info.Named("net").With("peer", "m2").Warn("slow", "rtt", "2s")
	if info.IsInfo() || !info.IsWarn() {
		t.Errorf("levels: info %v warn %v, want raft's info hidden", info.IsInfo(), info.IsWarn())
	}
	out := buf.String()
	if strings.Contains(out, "chatty") || !strings.Contains(out, "msg=slow") ||
		!strings.Contains(out, "peer=m2") || !strings.Contains(out, "component=raft.net") {
		t.Errorf("bridged output:\n%s", out)
	}
	buf.Reset()
	debug := newHCLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), "raft")
	debug.Debug("details")
	debug.Trace("too much")
	debug.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Error}).Print("from stdlib")
	if out := buf.String(); !strings.Contains(out, "details") || strings.Contains(out, "too much") || !strings.Contains(out, "level=ERROR msg=\"from stdlib\"") {
		t.Errorf("debug-enabled output:\n%s", out)
	}
}
