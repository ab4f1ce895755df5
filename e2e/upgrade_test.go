package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/e2e/harness"
	orchpb "github.com/orch-io/orch/proto"
)

// The first release, which the upgrade starts from. It sent no protocol
// version. A clone without the tag still has the commit in its history.
const (
	releaseTag    = "v0.1.0"
	releaseCommit = "2dd15fc"
)

// upgradeYAML is the service kept under traffic through the upgrade: one
// replica per node (its host port takes the port on each), stop-first, so
// that a drained node's replica waits, pending, until the node is back.
// Only fields v0.1.0 knows.
const upgradeYAML = `
kind: Service
name: up
replicas: 3
image: orch.local/hello:1
ports:
  - {name: http, port: 8080, hostPort: 18081}
health:
  http: {path: /healthz, port: 8080}
  interval: 1s
  timeout: 500ms
  retries: 2
update: {maxSurge: 0, maxUnavailable: 1}
resources: {cpu: 50m, memory: 32Mi}
stopGracePeriod: 2s
`

// TestUpgradeFromV010 upgrades a running 3-master, 3-node cluster of
// v0.1.0 to this tree as docs/upgrading.md says: the masters one at a
// time, then each node by drain, replace, restart, uncordon, while a
// client requests the service through its host port and its DNS name. It
// reports the failed requests (the goal is none) and each step's time.
func TestUpgradeFromV010(t *testing.T) {
	r, c := runUpgrade(t)
	for _, s := range r.steps {
		t.Logf("step %-28s %6.1fs", s.name, s.took.Seconds())
	}
	t.Logf("upgrade took %.1fs; requests: %d through host ports (%d failed), %d through DNS (%d failed)",
		r.total.Seconds(), r.sent["hostPort"], r.failed["hostPort"], r.sent["dns"], r.failed["dns"])
	for _, e := range r.errors {
		t.Logf("failed request: %s", e)
	}
	// About ten a second each; far fewer means the client stalled, and a
	// count of failures over a handful of requests would prove nothing.
	if r.sent["hostPort"] < 20 || r.sent["dns"] < 20 {
		t.Errorf("only %d and %d requests sent: the client did not keep up", r.sent["hostPort"], r.sent["dns"])
	}
	// The goal is none; a stray failure on a loaded machine (a request in
	// flight as its replica stops) is reported above, more is a fault.
	if f := r.failed["hostPort"] + r.failed["dns"]; f*100 > r.sent["hostPort"]+r.sent["dns"] {
		t.Errorf("%d requests failed, more than 1%%", f)
	}
	refusesFarVersions(t, c)
}

// refusesFarVersions: an upgraded master refuses a client two minor
// versions behind it, with the sentence, and answers one a minor behind.
func refusesFarVersions(t *testing.T, c *harness.Cluster) {
	h := c.Hosts[1]
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: h.DialContext,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // only the version check is under test
	ask := func(protocol string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "https://"+h.Addr.String()+":7400/healthz", nil)
		req.Header.Set(api.HeaderProtocol, protocol)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := ask(api.ProtocolUnversioned.String()); code != http.StatusOK {
		t.Errorf("a client of protocol 0.1: %d %s", code, body)
	}
	if code, body := ask("0.0"); code != http.StatusBadRequest || !strings.Contains(body, "speaks protocol 0.0, more than one minor version older") {
		t.Errorf("a client of protocol 0.0: %d %s", code, body)
	}
}

// BenchmarkUpgrade measures the same upgrade (run with -benchtime 1x):
// total time, the slowest master and node steps, and failed requests.
func BenchmarkUpgrade(b *testing.B) {
	for range b.N {
		r, _ := runUpgrade(b)
		var master, node time.Duration
		for _, s := range r.steps {
			if strings.HasPrefix(s.name, "master") {
				master = max(master, s.took)
			} else {
				node = max(node, s.took)
			}
		}
		b.ReportMetric(r.total.Seconds(), "upgrade_s")
		b.ReportMetric(master.Seconds(), "slowest_master_s")
		b.ReportMetric(node.Seconds(), "slowest_node_s")
		b.ReportMetric(float64(r.failed["hostPort"]+r.failed["dns"]), "failed_requests")
		b.ReportMetric(float64(r.sent["hostPort"]+r.sent["dns"]), "requests")
	}
}

type upgradeStep struct {
	name string
	took time.Duration
}

type upgradeReport struct {
	steps        []upgradeStep
	total        time.Duration
	sent, failed map[string]int
	errors       []string
}

func runUpgrade(tb testing.TB) (upgradeReport, *harness.Cluster) {
	oldBin := buildRelease(tb)
	c := harness.New(tb, harness.Options{Orchd: oldBin, Masters: 3, LogLevel: "info"})
	c.LoadImage(helloTar)
	c.Apply(upgradeYAML)
	c.Running("up", 3, 2*time.Minute)
	checkProtocols(tb, c, "0.1")

	tr := newTraffic(c)
	stop := tr.run()
	var rep upgradeReport
	timed := func(name string, fn func()) {
		start := time.Now()
		fn()
		rep.steps = append(rep.steps, upgradeStep{name, time.Since(start)})
	}
	start := time.Now()
	for _, h := range c.Hosts {
		timed("master "+h.Name, func() { upgradeMaster(tb, c, h) })
	}
	checkProtocols(tb, c, api.ProtocolVersion.String())
	for _, h := range c.Hosts {
		timed("node "+h.Name, func() { upgradeNode(tb, c, tr, h) })
	}
	rep.total = time.Since(start)
	stop()
	rep.sent, rep.failed, rep.errors = tr.results()
	return rep, c
}

// buildRelease builds orchd of the first release from a git worktree of
// this repository's history.
func buildRelease(tb testing.TB) string {
	tb.Helper()
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		tb.Fatalf("the upgrade test builds %s from git history: %v", releaseTag, err)
	}
	repo := strings.TrimSpace(string(top))
	rev := releaseTag
	if exec.Command("git", "-C", repo, "rev-parse", "--verify", "--quiet", releaseTag+"^{commit}").Run() != nil {
		rev = releaseCommit
	}
	dir, err := os.MkdirTemp("", "orch-release-")
	if err != nil {
		tb.Fatal(err)
	}
	src := filepath.Join(dir, "src")
	if out, err := exec.Command("git", "-C", repo, "worktree", "add", "--detach", src, rev).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		tb.Fatalf("git worktree add %s: %v\n%s", rev, err, out)
	}
	tb.Cleanup(func() {
		_ = exec.Command("git", "-C", repo, "worktree", "remove", "--force", src).Run()
		os.RemoveAll(dir)
	})
	bin := filepath.Join(dir, "orchd-"+releaseTag)
	build := exec.Command("go", "build", "-ldflags", "-X main.version="+releaseTag, "-o", bin, "./cmd/orchd")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build orchd %s: %v\n%s", rev, err, out)
	}
	return bin
}

// checkProtocols: every master recorded protocol want.
func checkProtocols(tb testing.TB, c *harness.Cluster, want string) {
	tb.Helper()
	c.Eventually("every master speaks protocol "+want, 30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cl, err := c.API.Cluster(ctx)
		if err != nil {
			return err
		}
		for _, m := range cl.Members {
			// A master of v0.1.0 answers without protocols at all.
			if p := m.Protocol; p != want && !(p == "" && want == "0.1") {
				return fmt.Errorf("master %s speaks %q", m.ID, p)
			}
		}
		return nil
	})
}

// upgradeMaster replaces one master's binary: stop, replace, start, and
// wait until all three are healthy again.
func upgradeMaster(tb testing.TB, c *harness.Cluster, h *harness.Host) {
	tb.Helper()
	if err := h.Master.Stop(15 * time.Second); err != nil {
		tb.Fatal(err)
	}
	h.Master.SetBinary(orchdBin)
	if err := h.Master.Start(); err != nil {
		tb.Fatal(err)
	}
	c.Eventually("the masters are healthy after upgrading "+h.Name, 90*time.Second, func() error { return c.MastersHealthy(3) })
}

// upgradeNode drains h, replaces its agent's binary, restarts it and
// uncordons it, then waits for the service to be whole again.
func upgradeNode(tb testing.TB, c *harness.Cluster, tr *traffic, h *harness.Host) {
	tb.Helper()
	// An operator takes the node out of the load balancer first.
	tr.maintain(h)
	defer tr.maintain(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.API.SetNodeState(ctx, h.Name, "drain"); err != nil {
		tb.Fatalf("drain %s: %v", h.Name, err)
	}
	id := c.NodeID(h)
	c.Eventually(h.Name+" is drained", 2*time.Minute, func() error {
		reps, err := c.Replicas("up")
		if err != nil {
			return err
		}
		for _, r := range reps {
			if r.GetNode() == id && !r.Terminal() {
				return fmt.Errorf("%s still on %s (%s/%s)", r.DisplayName(), h.Name, r.GetDesiredState(), r.GetState())
			}
		}
		return nil
	})
	if err := h.Agent.Stop(15 * time.Second); err != nil {
		tb.Fatal(err)
	}
	h.Agent.SetBinary(orchdBin)
	if err := h.Agent.Start(); err != nil {
		tb.Fatal(err)
	}
	c.NodeState(h, orchpb.NodeDraining, time.Minute)
	if _, err := c.API.SetNodeState(ctx, h.Name, "uncordon"); err != nil {
		tb.Fatalf("uncordon %s: %v", h.Name, err)
	}
	c.NodeState(h, orchpb.NodeReady, time.Minute)
	c.Running("up", 3, 2*time.Minute)
}

// traffic is the client kept running through the upgrade: every 100ms a
// request through a node's host port and one through the service's DNS
// name (asked of a replica, which resolves it with its node's DNS server),
// never through the node under maintenance.
type traffic struct {
	c     *harness.Cluster
	maint atomic.Pointer[harness.Host]
	hosts map[string]*harness.Host // by node id

	mu           sync.Mutex
	reps         []*orchpb.Replica
	sent, failed map[string]int
	errors       []string
}

func newTraffic(c *harness.Cluster) *traffic {
	tr := &traffic{c: c, hosts: map[string]*harness.Host{}, sent: map[string]int{}, failed: map[string]int{}}
	for _, h := range c.Hosts {
		tr.hosts[c.NodeID(h)] = h
	}
	tr.reps, _ = c.Replicas("up")
	return tr
}

// maintain marks h as under maintenance (nil: none) and lets requests
// already sent to it finish.
func (tr *traffic) maintain(h *harness.Host) {
	tr.maint.Store(h)
	time.Sleep(500 * time.Millisecond)
}

func (tr *traffic) run() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			tr.hostPort(i)
			tr.dns(i)
			sleepCtx(ctx, 100*time.Millisecond)
		}
	}()
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if reps, err := tr.c.Replicas("up"); err == nil {
				tr.mu.Lock()
				tr.reps = reps
				tr.mu.Unlock()
			}
			sleepCtx(ctx, time.Second)
		}
	}()
	return func() { cancel(); wg.Wait() }
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// usable are the hosts not under maintenance, in a fixed order.
func (tr *traffic) usable() []*harness.Host {
	m := tr.maint.Load()
	var out []*harness.Host
	for _, h := range tr.c.Hosts {
		if h != m {
			out = append(out, h)
		}
	}
	return out
}

func (tr *traffic) record(path string, err error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.sent[path]++
	if err != nil {
		tr.failed[path]++
		if len(tr.errors) < 20 {
			tr.errors = append(tr.errors, time.Now().Format("15:04:05.000")+" "+path+": "+err.Error())
		}
	}
}

// hostPort asks a usable node's host port, from another usable host.
func (tr *traffic) hostPort(i int) {
	hosts := tr.usable()
	target, from := hosts[i%len(hosts)], hosts[(i+1)%len(hosts)]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	body, err := from.Get(ctx, "http://"+target.Addr.String()+":18081/")
	if err == nil && !strings.HasPrefix(hostname(body), "up.") {
		err = fmt.Errorf("answered by %q", hostname(body))
	}
	tr.record("hostPort", err)
}

// dns has a running replica on a usable node fetch the service by name.
func (tr *traffic) dns(i int) {
	m := tr.maint.Load()
	tr.mu.Lock()
	var clients []*orchpb.Replica
	for _, r := range tr.reps {
		if h := tr.hosts[r.GetNode()]; h != nil && h != m && r.Desired() == orchpb.DesiredRunning && r.Observed() == orchpb.ReplicaRunning {
			clients = append(clients, r)
		}
	}
	tr.mu.Unlock()
	if len(clients) == 0 {
		tr.record("dns", fmt.Errorf("no running replica to ask from"))
		return
	}
	r := clients[i%len(clients)]
	body, err := replicaAPI{h: tr.hosts[r.GetNode()], rep: r}.fetch("http://up.default.orch:8080/")
	if err == nil && !strings.HasPrefix(hostname(body), "up.") {
		err = fmt.Errorf("answered by %q", hostname(body))
	}
	tr.record("dns", err)
}

func (tr *traffic) results() (sent, failed map[string]int, errors []string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.sent, tr.failed, tr.errors
}
