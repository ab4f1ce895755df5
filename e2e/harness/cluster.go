package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/agent/runtime/containerdproc"
	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/netoverlay/namespace"
)

// Options shape a cluster.
type Options struct {
	// Hosts is how many hosts to make (default 3). The first Masters run
	// a master; every host runs an agent.
	Hosts int
	// Masters is how many masters (default 1): the first host bootstraps
	// the cluster, the next ones join it.
	Masters int
	// Orchd is the orchd binary (required; see Build).
	Orchd string
	// ClusterCIDR of the overlay (default 10.244.0.0/16; it exists only
	// inside the hosts).
	ClusterCIDR string
	// NodeTimeout is the master's --node-timeout (default 4s).
	NodeTimeout time.Duration
	// LogLevel of every orchd (default debug).
	LogLevel string
}

// Cluster is a running multi-host cluster.
type Cluster struct {
	t      testing.TB
	opts   Options
	ID     string
	RunDir string
	// Hosts in order; Hosts[0] runs the master.
	Hosts      []*Host
	underlay   string // namespace path of the underlay bridge
	outside    string // namespace path of the outside world
	containerd *containerdproc.Daemon
	// API is an admin client of the master, dialing from inside host 1.
	API       *client.Client
	tokenFile string
}

// New builds the hosts, starts containerd, the master and the agents, and
// waits until every node is ready. Everything is removed when t ends.
func New(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("e2e needs root: network namespaces, containerd")
	}
	for _, bin := range []string{"nsenter", "iptables", "ip", containerdproc.Binary()} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("e2e needs %s: %v", bin, err)
		}
	}
	if opts.Hosts == 0 {
		opts.Hosts = 3
	}
	if opts.Masters == 0 {
		opts.Masters = 1
	}
	if opts.Masters > opts.Hosts {
		t.Fatalf("harness: %d masters on %d hosts", opts.Masters, opts.Hosts)
	}
	if opts.ClusterCIDR == "" {
		opts.ClusterCIDR = "10.244.0.0/16"
	}
	if opts.NodeTimeout == 0 {
		opts.NodeTimeout = 4 * time.Second
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "debug"
	}
	if opts.Orchd == "" {
		t.Fatal("harness: Options.Orchd is required")
	}
	if err := Sweep(); err != nil {
		t.Logf("harness: sweeping earlier runs: %v", err)
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	c := &Cluster{t: t, opts: opts, ID: hex.EncodeToString(b)}
	c.RunDir = filepath.Join(runsDir, c.ID)
	if err := os.MkdirAll(filepath.Join(c.RunDir, "pids"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.RunDir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs last: after processes and containers
	// are gone, the namespaces (and every link, route and rule in them) go.
	t.Cleanup(c.removeNamespaces)
	c.buildNetwork()
	c.startContainerd()
	c.startMaster()
	for _, h := range c.Hosts[1:c.opts.Masters] {
		c.joinMaster(h)
	}
	for _, h := range c.Hosts {
		c.startAgent(h)
	}
	c.Eventually("every node is ready", 60*time.Second, func() error { return c.nodesReady(len(c.Hosts)) })
	return c
}

func (c *Cluster) nsName(suffix string) string { return nsPrefix + c.ID + "-" + suffix }

func (c *Cluster) buildNetwork() {
	t := c.t
	t.Helper()
	var err error
	if c.underlay, err = makeUnderlay(c.nsName("ul")); err != nil {
		t.Fatalf("harness: underlay: %v", err)
	}
	for i := range c.opts.Hosts {
		name := "h" + strconv.Itoa(i+1)
		addr := UnderlayPrefix.Addr().As4()
		addr[3] = byte(i + 1)
		h := &Host{c: c, Index: i, Name: name, Addr: netip.AddrFrom4(addr), port: "p" + name}
		if h.NSPath, err = plugIn(c.underlay, c.nsName(name), h.port, h.Addr); err != nil {
			t.Fatalf("harness: host %s: %v", name, err)
		}
		h.Dir = filepath.Join(c.RunDir, name)
		if err := os.MkdirAll(h.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		c.Hosts = append(c.Hosts, h)
	}
	if c.outside, err = plugIn(c.underlay, c.nsName("out"), "pout", OutsideAddr); err != nil {
		t.Fatalf("harness: outside: %v", err)
	}
}

func (c *Cluster) startContainerd() {
	t := c.t
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := containerdproc.Start(ctx, filepath.Join(c.RunDir, "containerd"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("harness: containerd: %v", err)
	}
	_ = os.WriteFile(filepath.Join(c.RunDir, "pids", "containerd.pid"), []byte(strconv.Itoa(d.PID())), 0o644)
	c.containerd = d
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := d.Purge(ctx); err != nil {
			t.Errorf("harness: purge containerd: %v", err)
		}
		if err := d.Stop(); err != nil {
			t.Errorf("harness: stop containerd: %v", err)
		}
	})
}

func (c *Cluster) masterURL() string {
	return "https://" + c.Hosts[0].Addr.String() + ":7400"
}

// masterURLs are every master's API, comma-separated.
func (c *Cluster) masterURLs() string {
	urls := make([]string, c.opts.Masters)
	for i, h := range c.Hosts[:c.opts.Masters] {
		urls[i] = "https://" + h.Addr.String() + ":7400"
	}
	return strings.Join(urls, ",")
}

// joinMaster starts a master on h that joins the cluster of the first
// host's, and waits until the cluster lists it healthy.
func (c *Cluster) joinMaster(h *Host) {
	h.Master = newProc(h.Name+"-master", h.NSPath, c.RunDir, []string{
		c.opts.Orchd, "master",
		"--join", c.masterURL(),
		"--token-file", filepath.Join(c.Hosts[0].Dir, "master", "master.token"),
		"--data-dir", filepath.Join(h.Dir, "master"),
		"--api-addr", h.Addr.String() + ":7400",
		"--raft-addr", h.Addr.String() + ":7401",
		"--log-level", c.opts.LogLevel,
	})
	c.startProc(h.Master)
	c.Eventually(h.Name+"'s master joins", 60*time.Second, func() error { return c.MastersHealthy(h.Index + 1) })
}

// MastersHealthy checks that the cluster has n members, all healthy, and a
// leader.
func (c *Cluster) MastersHealthy(n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := c.API.Cluster(ctx)
	if err != nil {
		return err
	}
	healthy := 0
	for _, m := range cl.Members {
		if m.Healthy {
			healthy++
		}
	}
	if len(cl.Members) != n || healthy != n || cl.LeaderID == "" {
		return fmt.Errorf("%d members, %d healthy, leader %q", len(cl.Members), healthy, cl.LeaderID)
	}
	return nil
}

func (c *Cluster) startMaster() {
	h := c.Hosts[0]
	dataDir := filepath.Join(h.Dir, "master")
	h.Master = newProc(h.Name+"-master", h.NSPath, c.RunDir, []string{
		c.opts.Orchd, "master", "--bootstrap",
		"--data-dir", dataDir,
		"--api-addr", h.Addr.String() + ":7400",
		"--raft-addr", h.Addr.String() + ":7401",
		"--cluster-cidr", c.opts.ClusterCIDR,
		"--node-timeout", c.opts.NodeTimeout.String(),
		"--log-level", c.opts.LogLevel,
	})
	c.startProc(h.Master)
	conf := filepath.Join(dataDir, "admin.conf")
	c.Eventually("the master answers", 60*time.Second, func() error {
		cfg, _, err := client.LoadConfig(conf)
		if err != nil {
			return err
		}
		api, err := client.New(cfg, client.WithHTTPClient(h.tlsHTTPClient(cfg.CA)))
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, _, err := api.ListNodes(ctx); err != nil {
			return err
		}
		// Agents read the join token from the file bootstrap wrote
		// (--token-file), as an operator's would.
		c.tokenFile = filepath.Join(dataDir, "agent.token")
		if _, err := os.Stat(c.tokenFile); err != nil {
			return err
		}
		// The client fails over across every master, as an operator's
		// would during an upgrade.
		cfg.Server = c.masterURLs()
		if api, err = client.New(cfg, client.WithHTTPClient(h.tlsHTTPClient(cfg.CA))); err != nil {
			return err
		}
		c.API = api
		return nil
	})
}

func (c *Cluster) startAgent(h *Host) {
	resolv := filepath.Join(h.Dir, "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver "+OutsideAddr.String()+"\n"), 0o644); err != nil {
		c.t.Fatal(err)
	}
	h.Agent = newProc(h.Name+"-agent", h.NSPath, c.RunDir, []string{
		c.opts.Orchd, "agent",
		"--data-dir", filepath.Join(h.Dir, "agent"),
		"--join", c.masterURLs(),
		"--token-file", c.tokenFile,
		"--name", h.Name,
		"--labels", "host=" + h.Name,
		"--advertise-addr", h.Addr.String(),
		"--listen-addr", h.Addr.String() + ":7402",
		"--containerd", c.containerd.Socket(),
		"--containerd-namespace", c.nsName(h.Name),
		"--runc-root", c.containerd.RuncRoot(),
		"--netns-prefix", c.nsName(h.Name) + "r-",
		"--resolv-conf", resolv,
		"--capacity-cpu", "4", "--capacity-memory", "4Gi",
		"--log-level", c.opts.LogLevel,
	})
	c.startProc(h.Agent)
}

// startProc starts p and makes sure it is stopped when the test ends.
func (c *Cluster) startProc(p *Proc) {
	c.t.Helper()
	if err := p.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		if err := p.Stop(15 * time.Second); err != nil {
			c.t.Errorf("harness: stop %s: %v", p.Name, err)
		}
		if c.t.Failed() {
			c.t.Logf("---- last lines of %s:\n%s", p.Name, tail(p.LogPath(), 60))
		}
	})
}

// removeNamespaces deletes every namespace of the run: the replicas' (left
// by agents that were killed), the hosts', the outside and the underlay.
func (c *Cluster) removeNamespaces() {
	names, err := namespace.List(namespace.DefaultDir, nsPrefix+c.ID+"-")
	if err != nil {
		c.t.Errorf("harness: list namespaces: %v", err)
	}
	for _, n := range names {
		if err := namespace.Delete(namespace.Path(namespace.DefaultDir, n)); err != nil {
			c.t.Errorf("harness: delete namespace %s: %v", n, err)
		}
	}
	if !c.t.Failed() || os.Getenv("ORCH_E2E_KEEP_LOGS") == "" {
		_ = os.RemoveAll(c.RunDir)
	}
}

// Leftovers lists what of this run still exists: namespaces and processes.
// Empty once the test's cleanups have run.
func (c *Cluster) Leftovers() []string {
	var out []string
	names, _ := namespace.List(namespace.DefaultDir, nsPrefix+c.ID+"-")
	for _, n := range names {
		out = append(out, "netns "+n)
	}
	pids, _ := filepath.Glob(filepath.Join(c.RunDir, "pids", "*.pid"))
	for _, p := range pids {
		out = append(out, "pid file "+p)
	}
	return out
}

// Eventually retries check every 100ms until it succeeds or timeout passes,
// then fails the test with the last error.
func (c *Cluster) Eventually(what string, timeout time.Duration, check func() error) {
	c.t.Helper()
	if err := Poll(timeout, 100*time.Millisecond, check); err != nil {
		c.t.Fatalf("timed out after %s waiting until %s: %v", timeout, what, err)
	}
}

// Poll calls check every interval until it returns nil or timeout passes.
func Poll(timeout, interval time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(interval)
	}
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Build compiles orchd into dir and returns its path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "orchd")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/orch-io/orch/cmd/orchd")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build orchd: %w\n%s", err, out)
	}
	return bin, nil
}

// CleanupAgent runs `orchd agent --cleanup` on host h (stop its agent
// first): it must remove every container, namespace, link and rule the
// agent made there.
func (c *Cluster) CleanupAgent(ctx context.Context, h *Host) (string, error) {
	return h.Run(ctx, c.opts.Orchd, "agent", "--cleanup",
		"--data-dir", filepath.Join(h.Dir, "agent"),
		"--containerd", c.containerd.Socket(),
		"--containerd-namespace", c.nsName(h.Name),
		"--runc-root", c.containerd.RuncRoot(),
		"--netns-prefix", c.nsName(h.Name)+"r-",
	)
}

// ReplicaNamespaces lists the replica network namespaces of host h.
func (c *Cluster) ReplicaNamespaces(h *Host) []string {
	names, _ := namespace.List(namespace.DefaultDir, c.nsName(h.Name)+"r-")
	return names
}
