package hollow_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/hollow"
	"github.com/orch-io/orch/master"
	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
)

// cluster is a real master (Raft, API, dispatcher, controllers) in this
// process on 127.0.0.1 ports, with hollow nodes joined through the real
// agent channel.
type cluster struct {
	t     testing.TB
	m     *master.Master
	api   *client.Client
	token string
	ctx   context.Context
	dir   string
}

func quietLogger() *slog.Logger {
	if os.Getenv("ORCH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startCluster(t testing.TB, nodeTimeout time.Duration) *cluster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dir := t.TempDir()
	m, err := master.Start(ctx, master.Config{
		DataDir: dir, APIAddr: "127.0.0.1:0", RaftAddr: freeAddr(t), Bootstrap: true,
		NodeTimeout: nodeTimeout, Logger: quietLogger(),
		// A /24 per node: the default /16 holds only 256 nodes.
		ClusterCIDR: "10.64.0.0/10",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	cfg, _, err := client.LoadConfig(filepath.Join(dir, master.AdminConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	api, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(filepath.Join(dir, master.AgentTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{t: t, m: m, api: api, token: strings.TrimSpace(string(token)), ctx: ctx, dir: dir}
}

// joinMaster adds a voter to the cluster (the first master stays leader:
// it is the one the tests talk to).
func (c *cluster) joinMaster(nodeTimeout time.Duration) *master.Master {
	c.t.Helper()
	token, err := os.ReadFile(filepath.Join(c.dir, master.MasterTokenFile))
	if err != nil {
		c.t.Fatal(err)
	}
	m, err := master.Start(c.ctx, master.Config{
		DataDir: c.t.TempDir(), APIAddr: "127.0.0.1:0", RaftAddr: freeAddr(c.t),
		Join: []string{c.m.URL()}, JoinToken: strings.TrimSpace(string(token)),
		NodeTimeout: nodeTimeout, Logger: quietLogger(), ClusterCIDR: "10.64.0.0/10",
	})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(m.Stop)
	return m
}

// fleet joins count hollow nodes named prefix-1.. and waits until the
// master lists them ready.
func (c *cluster) fleet(cfg hollow.Config) *hollow.Fleet {
	c.t.Helper()
	cfg.Masters = []string{c.m.URL()}
	cfg.Token = c.token
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	f, err := hollow.Start(c.ctx, cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(f.Stop)
	return f
}

func (c *cluster) apply(yaml string) *orchpb.Service {
	c.t.Helper()
	spec, err := manifest.ParseOne([]byte(yaml))
	if err != nil {
		c.t.Fatal(err)
	}
	svc, err := c.api.ApplyService(c.ctx, spec, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return svc
}

// eventually polls check until it returns nil, failing the test after
// timeout with the last error.
func (c *cluster) eventually(timeout time.Duration, what string, check func() error) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = check(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("timed out after %s waiting until %s: %v", timeout, what, err)
}

// replicas of a service that are meant to run.
func (c *cluster) live(service string) []*orchpb.Replica {
	c.t.Helper()
	reps, _, err := c.api.ListReplicas(c.ctx, client.ReplicaFilter{Namespace: "default", Service: service})
	if err != nil {
		c.t.Fatal(err)
	}
	var out []*orchpb.Replica
	for _, r := range reps {
		if r.Desired() == orchpb.DesiredRunning && !r.Terminal() {
			out = append(out, r)
		}
	}
	return out
}

// running waits until service has exactly n live replicas, all running,
// and returns them.
func (c *cluster) running(service string, n int, timeout time.Duration) []*orchpb.Replica {
	c.t.Helper()
	var out []*orchpb.Replica
	c.eventually(timeout, fmt.Sprintf("%d replicas of %s run", n, service), func() error {
		reps := c.live(service)
		running := 0
		for _, r := range reps {
			if r.Observed() == orchpb.ReplicaRunning {
				running++
			}
		}
		if len(reps) != n || running != n {
			return fmt.Errorf("%d live, %d running: %s", len(reps), running, summary(reps))
		}
		out = reps
		return nil
	})
	return out
}

func summary(reps []*orchpb.Replica) string {
	var s []string
	for _, r := range reps {
		s = append(s, fmt.Sprintf("%s@%s=%s/%s(%s)", r.DisplayName(), r.GetNode(), r.GetState(), r.GetSpec().GetImage(), r.GetMessage()))
	}
	return strings.Join(s, " ")
}

func (c *cluster) service(name string) *orchpb.Service {
	c.t.Helper()
	svc, err := c.api.GetService(c.ctx, "default", name)
	if err != nil {
		c.t.Fatal(err)
	}
	return svc
}

func clientFilter(service string) client.ReplicaFilter {
	return client.ReplicaFilter{Namespace: "default", Service: service}
}

// freeAddr is a 127.0.0.1 port free right now: a Raft address must be
// known before it listens (it names the master).
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
