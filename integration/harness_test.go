package integration

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/orch-io/orch/agent/runtime/containerdproc"
	"github.com/orch-io/orch/agent/runtime/containerdproc/containerdtest"
	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
)

// testCIDR keeps the tests' bridge away from a running `make run` cluster
// (10.244.0.0/16); it only ever lives on a bridge the test makes.
const (
	testCIDR       = "10.199.0.0/16"
	testBridge     = "orchit0"
	testNetNS      = "orchit-"
	containerdNS   = "orch"
	defaultTimeout = 60 * time.Second
)

var (
	orchdBin  string
	helloTar  string
	buildErr  error
	buildOnce = make(chan struct{})
)

func TestMain(m *testing.M) {
	code := m.Run()
	if orchdBin != "" {
		os.RemoveAll(filepath.Dir(orchdBin))
	}
	os.Exit(code)
}

// build compiles orchd and finds (or builds) the sample image, once.
func build(t testing.TB) {
	t.Helper()
	select {
	case <-buildOnce:
	default:
		defer close(buildOnce)
		dir, err := os.MkdirTemp("", "orchd-bin")
		if err != nil {
			buildErr = err
			break
		}
		orchdBin = filepath.Join(dir, "orchd")
		out, err := exec.Command("go", "build", "-o", orchdBin, "../cmd/orchd").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build orchd: %v\n%s", err, out)
			break
		}
		helloTar, _ = filepath.Abs("../images/hello.tar")
		if _, err := os.Stat(helloTar); err != nil {
			helloTar = filepath.Join(dir, "hello.tar")
			if out, err := exec.Command("go", "run", "../images/build", "-src", "../images/hello", "-o", helloTar).CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build the hello image: %v\n%s", err, out)
			}
		}
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// devCluster is `orchd dev` run as a child process, so tests can kill -9 it.
type devCluster struct {
	t       testing.TB
	dataDir string
	ctrd    *containerdproc.Daemon
	orchd   *proc // nil in a splitCluster, which has its own
	api     *client.Client
	ctr     *containerd.Client
}

// proc is an orchd child process, started again with the same arguments
// after a stop; its output is kept across restarts.
type proc struct {
	t    testing.TB
	home string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	out  bytes.Buffer
}

func newProc(t testing.TB, home string, args ...string) *proc {
	return &proc{t: t, home: home, args: args}
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	if p == nil {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) start() {
	p.t.Helper()
	if p.output() != "" {
		fmt.Fprintf(p, "---- %s restarted ----\n", p.args[0])
	}
	cmd := exec.Command(orchdBin, p.args...)
	cmd.Stdout, cmd.Stderr = p, p
	cmd.Env = append(os.Environ(), "HOME="+p.home)
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.cmd, p.done = cmd, done
}

// stop ends the process: with SIGKILL when hard, so that none of its own
// cleanup runs, else with SIGTERM and SIGKILL 20s later. It fails when the
// signal cannot be sent: the process had ended by itself.
func (p *proc) stop(hard bool) error {
	if p == nil || p.cmd == nil {
		return nil
	}
	cmd := p.cmd
	p.cmd = nil
	sig := syscall.SIGTERM
	if hard {
		sig = syscall.SIGKILL
	}
	err := cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-p.done
	}
	if err != nil {
		return fmt.Errorf("%s: %w", p.args[0], err)
	}
	return nil
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

// startDevCluster starts orchd dev on a private containerd; extra are
// more orchd dev flags (--device ...).
func startDevCluster(t testing.TB, extra ...string) *devCluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the dev cluster needs root")
	}
	ctrd := containerdtest.Start(t)
	build(t)
	d := &devCluster{t: t, dataDir: t.TempDir(), ctrd: ctrd}
	d.orchd = newProc(t, d.dataDir, "dev",
		"--data-dir", d.dataDir,
		"--api-addr", freePort(t),
		"--raft-addr", freePort(t),
		"--agent-listen-addr", freePort(t),
		"--containerd", ctrd.Socket(),
		"--cluster-cidr", testCIDR,
		"--bridge", testBridge,
		"--netns-prefix", testNetNS,
		// The machine's own network namespace: no iptables rules, no
		// masquerade, no ip_forward change (DESIGN: network safety).
		"--iptables=false",
		"--node-timeout", "10s",
		"--log-level", "debug",
	)
	d.orchd.args = append(d.orchd.args, extra...)
	ctr, err := containerd.New(ctrd.Socket())
	if err != nil {
		t.Fatal(err)
	}
	d.ctr = ctr
	// Cleanups run last-in first-out: stop orchd, then remove what it made,
	// then (registered earlier) purge and stop containerd.
	t.Cleanup(func() {
		ctr.Close()
	})
	t.Cleanup(func() {
		_ = d.orchd.stop(false)
		cmd := exec.Command(orchdBin, "dev", "--cleanup", "--data-dir", d.dataDir, "--containerd", ctrd.Socket(), "--bridge", testBridge, "--netns-prefix", testNetNS)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("orchd dev --cleanup: %v\n%s", err, out)
		}
		if t.Failed() {
			t.Logf("orchd output:\n%s", d.orchd.output())
		}
	})
	d.start()
	return d
}

// start starts orchd dev (again) and waits until its node is ready.
func (d *devCluster) start() {
	d.t.Helper()
	d.orchd.start()
	d.connect()
	d.nodeReady()
}

// kill9 ends orchd the hard way: no cleanup code of its own runs.
func (d *devCluster) kill9() {
	d.t.Helper()
	if err := d.orchd.stop(true); err != nil {
		d.t.Fatal(err)
	}
}

func (d *devCluster) adminConf() string {
	return filepath.Join(d.dataDir, "master", "admin.conf")
}

// connect waits until the master answers with the credentials it wrote,
// and keeps its client.
func (d *devCluster) connect() {
	d.t.Helper()
	d.eventually("the master answers", func() error {
		cfg, _, err := client.LoadConfig(d.adminConf())
		if err != nil {
			return err
		}
		api, err := client.New(cfg)
		if err != nil {
			return err
		}
		if _, _, err := api.ListNodes(context.Background()); err != nil {
			return err
		}
		d.api = api
		return nil
	})
}

// nodeReady waits until the cluster's one node is ready.
func (d *devCluster) nodeReady() {
	d.t.Helper()
	d.eventually("the node is ready", func() error {
		nodes, _, err := d.api.ListNodes(context.Background())
		if err != nil {
			return err
		}
		if len(nodes) != 1 || nodes[0].Status() != orchpb.NodeReady {
			return fmt.Errorf("nodes: %v", nodes)
		}
		return nil
	})
}

func (d *devCluster) eventually(what string, check func() error) {
	d.t.Helper()
	deadline := time.Now().Add(defaultTimeout)
	var err error
	for time.Now().Before(deadline) {
		if err = check(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.t.Fatalf("timed out waiting until %s: %v", what, err)
}

func (d *devCluster) loadHello() {
	d.t.Helper()
	f, err := os.Open(helloTar)
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	if _, err := d.api.LoadImage(context.Background(), f); err != nil {
		d.t.Fatal(err)
	}
}

func (d *devCluster) apply(yaml string) *orchpb.Service {
	d.t.Helper()
	spec, err := manifest.ParseOne([]byte(yaml))
	if err != nil {
		d.t.Fatal(err)
	}
	svc, err := d.api.ApplyService(context.Background(), spec, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	return svc
}

// running waits until the service has exactly n replicas, all running.
func (d *devCluster) running(service string, n int) []*orchpb.Replica {
	d.t.Helper()
	var out []*orchpb.Replica
	d.eventually(fmt.Sprintf("%d replicas of %s run", n, service), func() error {
		reps, _, err := d.api.ListReplicas(context.Background(), client.ReplicaFilter{Namespace: "default", Service: service})
		if err != nil {
			return err
		}
		running := 0
		for _, r := range reps {
			if r.Observed() == orchpb.ReplicaRunning && r.Desired() == orchpb.DesiredRunning {
				running++
			}
		}
		if running != n || len(reps) != n {
			return fmt.Errorf("%d replicas, %d running: %v", len(reps), running, summary(reps))
		}
		out = reps
		return nil
	})
	return out
}

func summary(reps []*orchpb.Replica) []string {
	var s []string
	for _, r := range reps {
		s = append(s, r.DisplayName()+"="+r.GetState()+"/"+r.GetDesiredState()+" "+r.GetMessage())
	}
	return s
}

// tasks returns the PID of every task in the agent's containerd namespace,
// by container id.
func (d *devCluster) tasks() map[string]uint32 {
	d.t.Helper()
	ctx := namespaces.WithNamespace(context.Background(), containerdNS)
	containers, err := d.ctr.Containers(ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	out := map[string]uint32{}
	for _, c := range containers {
		task, err := c.Task(ctx, nil)
		if err != nil {
			out[c.ID()] = 0
			continue
		}
		out[c.ID()] = task.Pid()
	}
	return out
}

// snapshots counts the active snapshots in the agent's namespace.
func (d *devCluster) snapshots() int {
	d.t.Helper()
	ctx := namespaces.WithNamespace(context.Background(), containerdNS)
	n := 0
	err := d.ctr.SnapshotService("overlayfs").Walk(ctx, func(ctx context.Context, info snapshots.Info) error {
		if info.Kind == snapshots.KindActive {
			n++
		}
		return nil
	})
	if err != nil {
		d.t.Fatal(err)
	}
	return n
}

func (d *devCluster) caPEM() string {
	d.t.Helper()
	cfg, _, err := client.LoadConfig(d.adminConf())
	if err != nil {
		d.t.Fatal(err)
	}
	return cfg.CA
}
