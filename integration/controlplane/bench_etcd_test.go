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
//
// etcd runs twice: in the clear (store=etcd, as the figures were
// taken), and with TLS on every client and peer link and client
// certificates required (store=etcd-tls), as orch always runs and as a
// production etcd does: the like-for-like row.
func BenchmarkWritesVsEtcd(b *testing.B) {
	etcdBin, err := exec.LookPath("etcd")
	if err != nil {
		b.Fatal("no etcd on PATH: apt-get install -y etcd-server")
	}
	c := newCluster(b, 3)
	leader := c.leader()
	etcds := map[string]*clientv3.Client{
		"etcd":     startEtcd(b, etcdBin, 3, nil),
		"etcd-tls": startEtcd(b, etcdBin, 3, newEtcdTLS(b)),
	}
	for _, clients := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("clients=%d/store=orch", clients), func(b *testing.B) {
			writes, p50, p99 := c.writeLoad(b, []string{leader.url()}, clients, writeLoadDuration(b))
			reportFigures(b, writes, p50, p99)
		})
		for _, store := range []string{"etcd", "etcd-tls"} {
			etcd := etcds[store]
			b.Run(fmt.Sprintf("clients=%d/store=%s", clients, store), func(b *testing.B) {
				writes, p50, p99 := runWriteLoad(b, clients, writeLoadDuration(b), func(ctx context.Context, _ *rand.Rand, name, value string) error {
					_, err := etcd.Put(ctx, "/services/default/"+name, string(serviceJSON(name, value)))
					return err
				})
				reportFigures(b, writes, p50, p99)
			})
		}
	}
}

// reportFigures records a write load's figures on b.
func reportFigures(b *testing.B, writes float64, p50, p99 time.Duration) {
	b.ReportMetric(writes, "writes/s")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
}

// startEtcd starts an n-member etcd cluster on loopback, each member with its
// own data directory, and answers a client of all of them; with sec, every
// link is TLS and every client (members included) shows a certificate. The
// members are stopped by PID when the benchmark ends.
func startEtcd(b *testing.B, bin string, n int, sec *etcdTLS) *clientv3.Client {
	scheme := "http://"
	if sec != nil {
		scheme = "https://"
	}
	var peers, clients []string
	for range n {
		peers = append(peers, scheme+freePort(b))
		clients = append(clients, scheme+freePort(b))
	}
	var initial []string
	for i, p := range peers {
		initial = append(initial, fmt.Sprintf("e%d=%s", i, p))
	}
	for i := range n {
		args := []string{
			"--name", fmt.Sprintf("e%d", i),
			"--data-dir", b.TempDir(),
			"--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
			"--listen-client-urls", clients[i], "--advertise-client-urls", clients[i],
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new", "--initial-cluster-token", "orch-bench",
			"--log-level", "error",
		}
		if sec != nil {
			args = append(args, sec.memberFlags()...)
		}
		startEtcdMember(b, bin, i, args)
	}
	cfg := clientv3.Config{Endpoints: clients, DialTimeout: 10 * time.Second, Logger: zap.NewNop()}
	if sec != nil {
		cfg.TLS = sec.client
	}
	cli, err := clientv3.New(cfg)
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

// startEtcdMember runs member i with args, stopped by PID when the
// benchmark ends; its output is shown if the benchmark failed.
func startEtcdMember(b *testing.B, bin string, i int, args []string) {
	cmd := exec.Command(bin, args...)
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
