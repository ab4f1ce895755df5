package raftnode

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/pki"

	"github.com/orch-io/orch/master/store"
)

// BenchmarkApply3 is Raft's share of a write: commands proposed by
// concurrent callers to the leader of three in-process masters (bbolt with
// fsync, mutual TLS between them, batched applies), no API in front. Each
// op is one command.
func BenchmarkApply3(b *testing.B) {
	for _, callers := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			logger := slog.New(slog.DiscardHandler)
			ca, _ := pki.NewCA()
			cert, _ := ca.IssueMaster([]string{"127.0.0.1"})
			var ms []*master
			for i := range 3 {
				m := &master{id: fmt.Sprintf("m%d", i+1), dir: b.TempDir(), addr: freeAddr(b), logger: logger}
				ms = append(ms, m)
			}
			open := func(m *master, bootstrap bool) {
				cfg := Config{DataDir: m.dir, BindAddr: m.addr, NodeID: m.id, Bootstrap: bootstrap, Logger: logger}
				withTLS(ca, cert)(&cfg)
				n, err := Open(cfg, store.NewFSM(store.New(), nil))
				if err != nil {
					b.Fatal(err)
				}
				m.node = n
				b.Cleanup(func() { _ = n.Shutdown() })
			}
			open(ms[0], true)
			for !ms[0].node.IsLeader() {
				time.Sleep(10 * time.Millisecond)
			}
			for _, m := range ms[1:] {
				open(m, false)
				if err := ms[0].node.AddVoter(context.Background(), m.id, m.node.Addr()); err != nil {
					b.Fatal(err)
				}
			}
			leader := ms[0].node
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			per := (b.N + callers - 1) / callers
			for c := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range per {
						if _, err := leader.Apply(context.Background(), putService(fmt.Sprintf("s-%d-%d", c, i%64), int32(i))); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(per*callers)/time.Since(start).Seconds(), "commands/s")
		})
	}
}
