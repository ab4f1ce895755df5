package controlplane

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
)

// patience bounds every wait: generous, because the tests share two busy
// cores; they poll, they never assert on timing.
const patience = 60 * time.Second

var (
	orchdBin, orchctlBin string
	binDir               string
	buildErr             error
	buildOnce            sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// build compiles orchd and orchctl once per test binary.
func build(t testing.TB) {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "orch-controlplane"); buildErr != nil {
			return
		}
		orchdBin, orchctlBin = filepath.Join(binDir, "orchd"), filepath.Join(binDir, "orchctl")
		for bin, pkg := range map[string]string{orchdBin: "../../cmd/orchd", orchctlBin: "../../cmd/orchctl"} {
			if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// master is one orchd master process.
type master struct {
	t        testing.TB
	id       string
	dir      string
	apiAddr  string
	raftAddr string
	args     []string
	cmd      *exec.Cmd
	done     chan struct{}
	out      *syncBuffer
	// kills counts kill9 calls, so a client can tell that a request
	// failed because its master was killed under it.
	kills atomic.Int32
}

// url is the master's API address.
func (m *master) url() string { return "https://" + m.apiAddr }

func (m *master) start() {
	m.t.Helper()
	cmd := exec.Command(orchdBin, m.args...)
	cmd.Stdout, cmd.Stderr = m.out, m.out
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start %s: %v", m.id, err)
	}
	fmt.Fprintf(m.out, "---- started %s (pid %d) at %s\n", m.id, cmd.Process.Pid, time.Now().Format(time.StampMilli))
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	m.cmd, m.done = cmd, done
}

func (m *master) alive() bool {
	if m.cmd == nil {
		return false
	}
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// kill9 ends the process the hard way: nothing of its own cleanup runs.
func (m *master) kill9() {
	if m.cmd == nil {
		return
	}
	m.kills.Add(1)
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
	fmt.Fprintf(m.out, "---- killed %s at %s\n", m.id, time.Now().Format(time.StampMilli))
	m.cmd = nil
}

// stop ends the process gracefully (SIGTERM), or kills it after a while.
func (m *master) stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		m.t.Errorf("%s did not stop on SIGTERM within 30s", m.id)
		_ = m.cmd.Process.Kill()
		<-m.done
	}
	fmt.Fprintf(m.out, "---- stopped %s at %s\n", m.id, time.Now().Format(time.StampMilli))
	m.cmd = nil
}

// cluster is a set of masters and a client for their API.
type cluster struct {
	t       testing.TB
	masters []*master
	ca      []byte
	admin   string // admin token
	join    string // path of the master join token's file
	http    *http.Client
	extra   []string
}

// newCluster starts n masters: the first bootstraps, the others join it.
// extra flags go to every master.
func newCluster(t testing.TB, n int, extra ...string) *cluster {
	t.Helper()
	build(t)
	c := &cluster{t: t, extra: extra}
	first := c.newMaster("m1", "--bootstrap")
	first.start()
	c.eventually("the first master to bootstrap", func() error {
		cfg, _, err := client.LoadConfig(filepath.Join(first.dir, "admin.conf"))
		if err != nil {
			return err
		}
		join := filepath.Join(first.dir, "master.token")
		if _, err := os.Stat(join); err != nil {
			return err
		}
		c.ca, c.admin, c.join = []byte(cfg.CA), cfg.Token, join
		return nil
	})
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.ca) {
		t.Fatal("admin.conf holds no CA")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 256,
		DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}
	c.http = &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)
	for i := 2; i <= n; i++ {
		c.addMaster()
	}
	c.waitHealthy(n)
	return c
}

func (c *cluster) newMaster(id string, args ...string) *master {
	c.t.Helper()
	m := &master{t: c.t, id: id, dir: c.t.TempDir(), apiAddr: freePort(c.t), raftAddr: freePort(c.t), out: &syncBuffer{}}
	m.args = append([]string{"master", "--id", id, "--data-dir", m.dir, "--api-addr", m.apiAddr, "--raft-addr", m.raftAddr}, c.extra...)
	m.args = append(m.args, args...)
	if base := os.Getenv("ORCH_PPROF_PORT_BASE"); base != "" {
		// Performance work: each master serves Go profiles on base+N
		// (m1 on base+1, …).
		port, err := strconv.Atoi(base)
		if err != nil {
			c.t.Fatalf("ORCH_PPROF_PORT_BASE: %v", err)
		}
		m.args = append(m.args, "--pprof-addr", fmt.Sprintf("127.0.0.1:%d", port+len(c.masters)+1))
	}
	c.masters = append(c.masters, m)
	c.t.Cleanup(func() {
		m.kill9()
		if c.t.Failed() {
			c.t.Logf("output of %s:\n%s", m.id, tail(m.out.String(), 150))
		}
	})
	return m
}

// addMaster starts a new master that joins through every live master.
func (c *cluster) addMaster(args ...string) *master {
	c.t.Helper()
	var urls []string
	for _, m := range c.masters {
		if m.alive() {
			urls = append(urls, m.url())
		}
	}
	m := c.newMaster(fmt.Sprintf("m%d", len(c.masters)+1), append([]string{"--join", strings.Join(urls, ","), "--token-file", c.join}, args...)...)
	m.start()
	return m
}

func (c *cluster) live() []*master {
	var out []*master
	for _, m := range c.masters {
		if m.alive() {
			out = append(out, m)
		}
	}
	return out
}

func (c *cluster) byID(id string) *master {
	for _, m := range c.masters {
		if m.id == id {
			return m
		}
	}
	return nil
}

// status asks one master for GET /v1/cluster.
func (c *cluster) status(m *master) (*api.Cluster, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, body, _, err := c.do(ctx, http.MethodGet, m.url(), "/v1/cluster", nil, nil)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/cluster: %d %s", code, body)
	}
	var cl api.Cluster
	return &cl, json.Unmarshal(body, &cl)
}

// leader waits until the live masters agree on a live leader.
func (c *cluster) leader() *master {
	c.t.Helper()
	var leader *master
	c.eventually("a leader all live masters agree on", func() error {
		ids := map[string]bool{}
		for _, m := range c.live() {
			cl, err := c.status(m)
			if err != nil {
				return err
			}
			ids[cl.LeaderID] = true
		}
		if len(ids) != 1 {
			return fmt.Errorf("leaders seen: %v", ids)
		}
		for id := range ids {
			if leader = c.byID(id); leader == nil || !leader.alive() {
				return fmt.Errorf("leader %q is not a live master", id)
			}
		}
		return nil
	})
	return leader
}

// waitHealthy waits until every live master lists n members, all healthy
// and with an API address, and returns the last listing.
func (c *cluster) waitHealthy(n int) *api.Cluster {
	c.t.Helper()
	var out *api.Cluster
	c.eventually(fmt.Sprintf("%d healthy masters", n), func() error {
		var errs []string
		for _, m := range c.live() {
			cl, err := c.status(m)
			if err != nil {
				return err
			}
			if len(cl.Members) != n {
				return fmt.Errorf("%s sees %d members", m.id, len(cl.Members))
			}
			for _, mem := range cl.Members {
				if !mem.Healthy || mem.APIAddress == "" {
					errs = append(errs, fmt.Sprintf("%s: %+v", mem.ID, mem))
				}
			}
			out = cl
		}
		if len(errs) > 0 {
			return fmt.Errorf("unhealthy: %v", errs)
		}
		return nil
	})
	return out
}

func (c *cluster) eventually(what string, check func() error) {
	c.t.Helper()
	deadline := time.Now().Add(patience)
	var err error
	for time.Now().Before(deadline) {
		if err = check(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("timed out after %s waiting for %s: %v", patience, what, err)
}

// do sends one API request to the master at base with the admin token.
func (c *cluster) do(ctx context.Context, method, base, path string, body []byte, header map[string]string) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.admin)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, resp.Header, err
}

// orchctl runs the CLI against the cluster with the admin credential.
func (c *cluster) orchctl(server string, args ...string) (string, error) {
	c.t.Helper()
	conf := filepath.Join(c.t.TempDir(), "config")
	if err := client.WriteConfig(conf, &client.Config{Server: server, Token: c.admin, CA: string(c.ca)}); err != nil {
		c.t.Fatal(err)
	}
	out, err := exec.Command(orchctlBin, append([]string{"--config", conf}, args...)...).CombinedOutput()
	return string(out), err
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// serviceJSON is a service body with one env value, the register's value.
func serviceJSON(name, value string) []byte {
	return []byte(fmt.Sprintf(`{"kind":"Service","name":%q,"replicas":0,"image":"orch.local/hello:1","env":{"VALUE":%q}}`, name, value))
}

// readService decodes the value and version of a service answer.
func readService(body []byte) (value string, version uint64, err error) {
	var s struct {
		Env     map[string]string `json:"env"`
		Version json.Number       `json:"version"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return "", 0, fmt.Errorf("decode service %s: %w", body, err)
	}
	v, err := parseVersion(s.Version)
	return s.Env["VALUE"], v, err
}

func parseVersion(n json.Number) (uint64, error) {
	var v uint64
	_, err := fmt.Sscan(strings.Trim(string(n), `"`), &v)
	return v, err
}

// firstDiff shows where two answers part, for failure messages.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-200)
	return fmt.Sprintf("at byte %d:\nbefore ...%s\nafter  ...%s", i, a[from:min(len(a), i+200)], b[from:min(len(b), i+200)])
}

// specsOnly keeps what users wrote of a service list: it drops the fields
// the controllers keep moving (status, and version, which a status write
// bumps), so that listings taken while rollouts settle compare equal when
// no spec changed. Each remaining value is kept byte for byte.
func specsOnly(list []byte) ([]byte, error) {
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(list, &items); err != nil {
		return nil, err
	}
	for _, it := range items {
		delete(it, "status")
		delete(it, "version")
	}
	return json.Marshal(items)
}
