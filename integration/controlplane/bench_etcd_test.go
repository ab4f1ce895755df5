package controlplane

import (
	"context"
	"fmt"
	"math/rand"
	"os/exec"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// BenchmarkWritesVsEtcd puts orch's write path beside etcd's on the same
// machine, in one run: three masters and a three-member etcd cluster (from
// Debian's etcd-server, fsync on as always), each written through its own
// client by 1, 16 and 128 clients writing 512 keys. orch writes a service
// through the leader's API; etcd puts the same JSON bytes under the same key
// through its Go client, which balances over all members (etcd forwards
// proposals to its leader, as orch's followers do).
func BenchmarkWritesVsEtcd(b *testing.B) {
	etcdBin, err := exec.LookPath("etcd")
	if err != nil {
		b.Fatal("no etcd on PATH: apt-get install -y etcd-server")
	}
	c := newCluster(b, 3)
	leader := c.leader()
	etcd := startEtcd(b, etcdBin, 3)
	for _, clients := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("clients=%d/store=orch", clients), func(b *testing.B) {
			writes, p50, p99 := c.writeLoad(b, []string{leader.url()}, clients, writeLoadDuration(b))
			reportFigures(b, writes, p50, p99)
		})
		b.Run(fmt.Sprintf("clients=%d/store=etcd", clients), func(b *testing.B) {
			writes, p50, p99 := runWriteLoad(b, clients, writeLoadDuration(b), func(ctx context.Context, _ *rand.Rand, name, value string) error {
				_, err := etcd.Put(ctx, "/services/default/"+name, string(serviceJSON(name, value)))
				return err
			})
			reportFigures(b, writes, p50, p99)
		})
	}
}

// reportFigures records a write load's figures on b.
func reportFigures(b *testing.B, writes float64, p50, p99 time.Duration) {
	b.ReportMetric(writes, "writes/s")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
}

// startEtcd starts an n-member etcd cluster on loopback, each member with its
// own data directory, and answers a client of all of them. The members are
// stopped by PID when the benchmark ends.
func startEtcd(b *testing.B, bin string, n int) *clientv3.Client {
	var peers, clients []string
	for range n {
		peers = append(peers, "http://"+freePort(b))
		clients = append(clients, "http://"+freePort(b))
	}
	var initial []string
	for i, p := range peers {
		initial = append(initial, fmt.Sprintf("e%d=%s", i, p))
	}
	for i := range n {
		cmd := exec.Command(bin,
			"--name", fmt.Sprintf("e%d", i),
			"--data-dir", b.TempDir(),
			"--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
			"--listen-client-urls", clients[i], "--advertise-client-urls", clients[i],
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new", "--initial-cluster-token", "orch-bench",
			"--log-level", "error",
		)
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			b.Fatalf("start etcd member %d: %v", i, err)
		}
		b.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if b.Failed() {
				b.Logf("etcd member %d output:\n%s", i, out.String())
			}
		})
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: clients, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		b.Fatalf("etcd client: %v", err)
	}
	b.Cleanup(func() { cli.Close() })
	deadline := time.Now().Add(patience)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := cli.Put(ctx, "/ready", "1")
		cancel()
		if err == nil {
			return cli
		}
		if time.Now().After(deadline) {
			b.Fatalf("etcd cluster never took a write: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
