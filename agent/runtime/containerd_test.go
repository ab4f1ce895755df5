package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/orch-io/orch/agent/runtime/containerdproc"
)

func TestImportAndEnsureImage(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	names, err := e.rt.ImportImage(ctx, bytes.NewReader(testImageTar))
	if err != nil {
		t.Fatalf("second ImportImage: %v", err)
	}
	if len(names) != 1 || names[0] != testImageRef {
		t.Errorf("ImportImage names = %v, want [%s]", names, testImageRef)
	}
	if err := e.rt.EnsureImage(ctx, testImageRef); err != nil {
		t.Errorf("EnsureImage of an imported image: %v", err)
	}
	img, err := e.rt.client.GetImage(e.rt.ns(ctx), testImageRef)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := img.IsUnpacked(e.rt.ns(ctx), DefaultSnapshotter); err != nil || !ok {
		t.Errorf("IsUnpacked = %v, %v after import, want true", ok, err)
	}
	// Without a source or registry, an absent image is an error.
	if err := e.rt.EnsureImage(ctx, "127.0.0.1:1/absent:1"); err == nil {
		t.Error("EnsureImage of an image nobody has: no error")
	}
}

func TestEnsureImageFromSource(t *testing.T) {
	var calls atomic.Int32
	src := func(_ context.Context, ref string) (io.ReadCloser, error) {
		calls.Add(1)
		if ref != testImageRef {
			return nil, fmt.Errorf("source has no %s: %w", ref, ErrNotFound)
		}
		return io.NopCloser(bytes.NewReader(testImageTar)), nil
	}
	// A second namespace, so that the image imported by newTestEnv is absent.
	e := newTestEnv(t)
	rt, err := NewContainerd(testContext(t), e.socket, WithNamespace("other"), WithRuncRoot(e.daemon.RuncRoot()), WithImageSource(src))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ctx := testContext(t)
	for i := range 2 {
		if err := rt.EnsureImage(ctx, testImageRef); err != nil {
			t.Fatalf("EnsureImage #%d: %v", i+1, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("image source called %d times, want 1 (the second call finds the image)", n)
	}
	if err := rt.Create(ctx, e.config("from-source", "/testbin", "echo")); err != nil {
		t.Errorf("Create from a sourced image: %v", err)
	}
}

// TestEnsureImagePullsWhenSourceLacksIt serves the image from an in-process
// registry on 127.0.0.1 (containerd's resolver speaks plain HTTP to
// localhost).
func TestEnsureImagePullsWhenSourceLacksIt(t *testing.T) {
	e := newTestEnv(t, WithImageSource(func(_ context.Context, ref string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("%s: %w", ref, ErrNotFound)
	}))
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	ref := u.Host + "/pulled:1"

	tag, err := name.NewTag(testImageRef)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.Image(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(testImageTar)), nil
	}, &tag)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dst, img); err != nil {
		t.Fatalf("push to test registry: %v", err)
	}

	ctx := testContext(t)
	if err := e.rt.EnsureImage(ctx, ref); err != nil {
		t.Fatalf("EnsureImage(%s): %v", ref, err)
	}
	exits := e.run(t, ContainerConfig{ID: "pulled", Image: ref, LogPath: filepath.Join(e.logDir, "pulled.log")})
	if s := awaitExit(t, exits, 10*time.Second); s.Err != nil || s.Code != 0 {
		t.Errorf("pulled container exit = %+v, want code 0", s)
	}
}

func TestRunWritesLogAndExitCode(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.config("echo1")
	cfg.Command = nil // the image's entrypoint
	cfg.Args = []string{"echo", "a", "b"}
	cfg.Env = map[string]string{"GREETING": "hi", "EXIT_CODE": "3"}
	cfg.Hostname = "replica-1"

	start := time.Now()
	s := awaitExit(t, e.run(t, cfg), 10*time.Second)
	if s.Err != nil || s.Code != 3 {
		t.Fatalf("exit = %+v, want code 3", s)
	}
	if s.OOMKilled {
		t.Error("OOMKilled on an ordinary exit")
	}
	if s.ExitedAt.Before(start.Add(-time.Second)) || s.ExitedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("ExitedAt %v is not around now", s.ExitedAt)
	}
	log := awaitLog(t, cfg.LogPath, "args=")
	want := "args=[a b] greeting=hi from_image=yes hostname=replica-1"
	if !strings.Contains(log, want) {
		t.Errorf("log = %q, want it to contain %q", log, want)
	}
}

func TestCommandAndArgsOverrideImage(t *testing.T) {
	e := newTestEnv(t)
	cases := []struct {
		name          string
		command, args []string
		want          string
	}{
		{"image defaults", nil, nil, "args=[from-image-cmd]"},
		{"args after entrypoint", nil, []string{"echo", "x"}, "args=[x]"},
		{"command drops image cmd", []string{"/testbin", "echo"}, nil, "args=[]"},
		{"command and args", []string{"/testbin", "echo"}, []string{"y"}, "args=[y]"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.config(fmt.Sprintf("cmd%d", i), tc.command...)
			cfg.Args = tc.args
			if s := awaitExit(t, e.run(t, cfg), 10*time.Second); s.Code != 0 {
				t.Fatalf("exit = %+v", s)
			}
			if log := awaitLog(t, cfg.LogPath, "args="); !strings.Contains(log, tc.want) {
				t.Errorf("log = %q, want %q", log, tc.want)
			}
		})
	}
}

func TestStartAgainRestarts(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.config("again", "/testbin", "echo", "run")
	awaitExit(t, e.run(t, cfg), 10*time.Second)
	ctx := testContext(t)
	if _, err := e.rt.Start(ctx, cfg.ID); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	exits, err := e.rt.Wait(ctx, cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	awaitExit(t, exits, 10*time.Second)
	if log := awaitLog(t, cfg.LogPath, "args=[run]"); strings.Count(log, "args=[run]") != 2 {
		t.Errorf("log after two runs = %q, want two lines appended", log)
	}
}

func TestStopGraceThenKill(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	cases := []struct {
		mode     string
		grace    time.Duration
		wantCode uint32
		minTime  time.Duration
		maxTime  time.Duration
		wantLog  string
	}{
		{mode: "sleep", grace: 5 * time.Second, wantCode: 0, maxTime: 3 * time.Second, wantLog: "got SIGTERM"},
		{mode: "ignore-term", grace: 500 * time.Millisecond, wantCode: 128 + 9, minTime: 500 * time.Millisecond, maxTime: 5 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			cfg := e.config(tc.mode, "/testbin", tc.mode)
			exits := e.run(t, cfg)
			awaitLog(t, cfg.LogPath, "ready")
			start := time.Now()
			if err := e.rt.Stop(ctx, cfg.ID, tc.grace); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			took := time.Since(start)
			if took < tc.minTime || took > tc.maxTime {
				t.Errorf("Stop took %v, want between %v and %v", took, tc.minTime, tc.maxTime)
			}
			if s := awaitExit(t, exits, 5*time.Second); s.Code != tc.wantCode {
				t.Errorf("exit = %+v, want code %d", s, tc.wantCode)
			}
			if tc.wantLog != "" {
				awaitLog(t, cfg.LogPath, tc.wantLog)
			}
			infos, err := e.rt.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range infos {
				if in.ID == cfg.ID && in.TaskStatus != "" {
					t.Errorf("after Stop the task is %q, want deleted", in.TaskStatus)
				}
			}
			// Stop with no task left is a no-op.
			if err := e.rt.Stop(ctx, cfg.ID, time.Second); err != nil {
				t.Errorf("second Stop: %v", err)
			}
		})
	}
}

func TestDeleteRemovesContainerAndSnapshot(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	cfg := e.config("doomed", "/testbin", "sleep")
	e.run(t, cfg)
	awaitLog(t, cfg.LogPath, "ready")

	sn := e.rt.client.SnapshotService(DefaultSnapshotter)
	if _, err := sn.Stat(e.rt.ns(ctx), cfg.ID); err != nil {
		t.Fatalf("snapshot before Delete: %v", err)
	}
	if err := e.rt.Delete(ctx, cfg.ID); err != nil {
		t.Fatalf("Delete of a running container: %v", err)
	}
	if _, err := sn.Stat(e.rt.ns(ctx), cfg.ID); !errdefs.IsNotFound(err) {
		t.Errorf("snapshot Stat after Delete = %v, want not found", err)
	}
	if _, err := e.rt.client.LoadContainer(e.rt.ns(ctx), cfg.ID); !errdefs.IsNotFound(err) {
		t.Errorf("LoadContainer after Delete = %v, want not found", err)
	}
	if err := e.rt.Delete(ctx, cfg.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
}

func TestAdoptionAfterClientRestart(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	cfg := e.config("survivor", "/testbin", "sleep")
	e.run(t, cfg)
	awaitLog(t, cfg.LogPath, "ready")
	pid, err := e.rt.List(ctx)
	if err != nil || len(pid) != 1 {
		t.Fatalf("List = %v, %v", pid, err)
	}
	// The agent "restarts": its client goes away, the container does not.
	if err := e.rt.Close(); err != nil {
		t.Fatal(err)
	}
	rt, err := NewContainerd(ctx, e.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()

	infos, err := rt.List(ctx)
	if err != nil {
		t.Fatalf("List after restart: %v", err)
	}
	want := ContainerInfo{
		ID:         cfg.ID,
		Labels:     map[string]string{"orch.replica": cfg.ID},
		Image:      testImageRef,
		TaskStatus: "running",
		PID:        pid[0].PID,
	}
	if len(infos) != 1 || fmt.Sprint(infos[0]) != fmt.Sprint(want) {
		t.Fatalf("List after restart = %+v, want [%+v]", infos, want)
	}
	if want.PID == 0 {
		t.Error("running task has pid 0")
	}
	exits, err := rt.Wait(ctx, cfg.ID)
	if err != nil {
		t.Fatalf("Wait on an adopted task: %v", err)
	}
	if err := rt.Stop(ctx, cfg.ID, 5*time.Second); err != nil {
		t.Fatalf("Stop of an adopted task: %v", err)
	}
	if s := awaitExit(t, exits, 5*time.Second); s.Err != nil || s.Code != 0 {
		t.Errorf("adopted exit = %+v, want 0 from its SIGTERM handler", s)
	}
	awaitLog(t, cfg.LogPath, "got SIGTERM")
}

func TestWaitSeesExitThatHappenedWhileAway(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	cfg := e.config("quick", "/testbin", "echo")
	cfg.Env = map[string]string{"EXIT_CODE": "7"}
	if err := e.rt.Create(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.Start(ctx, cfg.ID); err != nil {
		t.Fatal(err)
	}
	awaitLog(t, cfg.LogPath, "args=")
	time.Sleep(100 * time.Millisecond)
	exits, err := e.rt.Wait(ctx, cfg.ID)
	if err != nil {
		t.Fatalf("Wait after the exit: %v", err)
	}
	if s := awaitExit(t, exits, 5*time.Second); s.Code != 7 {
		t.Errorf("exit = %+v, want 7", s)
	}
	infos, _ := e.rt.List(ctx)
	if len(infos) != 1 || infos[0].TaskStatus != "stopped" {
		t.Errorf("List = %+v, want one stopped task", infos)
	}
}

func TestResourceLimits(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	cfg := e.config("limited", "/testbin", "sleep")
	cfg.CPUMillis = 250
	cfg.MemoryBytes = 64 << 20
	e.run(t, cfg)
	awaitLog(t, cfg.LogPath, "ready")

	ctr, err := e.rt.client.LoadContainer(e.rt.ns(ctx), cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ctr.Spec(e.rt.ns(ctx))
	if err != nil {
		t.Fatal(err)
	}
	res := spec.Linux.Resources
	if res.Memory == nil || res.Memory.Limit == nil || *res.Memory.Limit != 64<<20 {
		t.Errorf("spec memory = %+v, want limit %d", res.Memory, 64<<20)
	}
	if res.CPU == nil || *res.CPU.Quota != 25_000 || *res.CPU.Period != 100_000 || *res.CPU.Shares != 256 {
		t.Errorf("spec cpu = %+v, want quota 25000/100000, shares 256", res.CPU)
	}
	if want := "/" + DefaultNamespace + "/" + cfg.ID; spec.Linux.CgroupsPath != want {
		t.Errorf("cgroupsPath = %q, want %q", spec.Linux.CgroupsPath, want)
	}

	mode := detectCgroups()
	memFile, cpuFile, cpuWant := "memory.limit_in_bytes", filepath.Join(cgroupRoot, "cpu", spec.Linux.CgroupsPath, "cpu.cfs_quota_us"), "25000"
	if mode.unified {
		memFile, cpuFile, cpuWant = "memory.max", filepath.Join(cgroupRoot, spec.Linux.CgroupsPath, "cpu.max"), "25000 100000"
	}
	t.Logf("cgroup v2 unified: %v, swap accounting: %v", mode.unified, mode.swapAccounting)
	if got := readTrim(t, filepath.Join(mode.memoryCgroupDir(spec.Linux.CgroupsPath), memFile)); got != fmt.Sprint(64<<20) {
		t.Errorf("cgroup %s = %s, want %d", memFile, got, 64<<20)
	}
	if got := readTrim(t, cpuFile); got != cpuWant {
		t.Errorf("cgroup %s = %s, want %s", cpuFile, got, cpuWant)
	}
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("read cgroup file: %v", err)
	}
	return strings.TrimSpace(string(b))
}

func TestOOMKillIsReported(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.config("hog", "/testbin", "alloc")
	cfg.MemoryBytes = 32 << 20
	s := awaitExit(t, e.run(t, cfg), 30*time.Second)
	if s.Err != nil || s.Code != 128+9 || !s.OOMKilled {
		t.Errorf("exit = %+v, want code 137 and OOMKilled", s)
	}
}

func TestNetworkNamespace(t *testing.T) {
	e := newTestEnv(t)
	hostNS, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	// Default: a new private namespace.
	priv := e.config("netns-private", "/testbin", "netns")
	awaitExit(t, e.run(t, priv), 10*time.Second)
	privNS := strings.Fields(awaitLog(t, priv.LogPath, "net:"))[0]
	if privNS == hostNS {
		t.Fatalf("container without NetNSPath is in the host network namespace %s", hostNS)
	}

	// NetNSPath: join the namespace of another running container.
	owner := e.config("netns-owner", "/testbin", "sleep")
	e.run(t, owner)
	awaitLog(t, owner.LogPath, "ready")
	infos, err := e.rt.List(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	var ownerPID uint32
	for _, in := range infos {
		if in.ID == owner.ID {
			ownerPID = in.PID
		}
	}
	ownerNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", ownerPID))
	if err != nil {
		t.Fatal(err)
	}
	joiner := e.config("netns-joiner", "/testbin", "netns")
	joiner.NetNSPath = fmt.Sprintf("/proc/%d/ns/net", ownerPID)
	awaitExit(t, e.run(t, joiner), 10*time.Second)
	if got := strings.Fields(awaitLog(t, joiner.LogPath, "net:"))[0]; got != ownerNS {
		t.Errorf("container with NetNSPath is in %s, want %s", got, ownerNS)
	}
}

func TestErrorKinds(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	cfg := e.config("dup", "/testbin", "sleep")
	e.run(t, cfg)
	awaitLog(t, cfg.LogPath, "ready")

	_, waitErr := e.rt.Wait(ctx, "absent")
	_, startErr := e.rt.Start(ctx, "absent")
	_, runningErr := e.rt.Start(ctx, cfg.ID)
	noImage := e.config("no-image")
	noImage.Image = "orch.local/absent:1"
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"Start absent", startErr, ErrNotFound},
		{"Wait absent", waitErr, ErrNotFound},
		{"Stop absent", e.rt.Stop(ctx, "absent", time.Second), ErrNotFound},
		{"Delete absent", e.rt.Delete(ctx, "absent"), ErrNotFound},
		{"Create without image", e.rt.Create(ctx, noImage), ErrNotFound},
		{"Create twice", e.rt.Create(ctx, cfg), ErrAlreadyExists},
		{"Start running", runningErr, ErrAlreadyExists},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if startErr == nil || !strings.Contains(startErr.Error(), "absent") {
		t.Errorf("error %q does not name the container", startErr)
	}
}

func TestCreateRejectsBadConfig(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	cases := []struct {
		name string
		mod  func(*ContainerConfig)
		want string
	}{
		{"bad id", func(c *ContainerConfig) { c.ID = "a/b" }, "id:"},
		{"relative log", func(c *ContainerConfig) { c.LogPath = "x.log" }, "logPath:"},
		{"negative memory", func(c *ContainerConfig) { c.MemoryBytes = -1 }, "memoryBytes:"},
		{"reserved label", func(c *ContainerConfig) { c.Labels = map[string]string{labelLogPath: "x"} }, "reserved"},
		{"no image", func(c *ContainerConfig) { c.Image = "" }, "image:"},
	}
	for _, tc := range cases {
		cfg := e.config("bad", "/testbin", "echo")
		tc.mod(&cfg)
		if err := e.rt.Create(ctx, cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Create err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

// TestNamespaceIsolation: List sees only the Runtime's own namespace.
func TestNamespaceIsolation(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	if err := e.rt.Create(ctx, e.config("mine", "/testbin", "echo")); err != nil {
		t.Fatal(err)
	}
	other, err := NewContainerd(ctx, e.socket, WithNamespace("elsewhere"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	infos, err := other.List(ctx)
	if err != nil || len(infos) != 0 {
		t.Errorf("List in another namespace = %v, %v, want empty", infos, err)
	}
	if _, err := e.rt.client.LoadContainer(namespaces.WithNamespace(ctx, DefaultNamespace), "mine"); err != nil {
		t.Errorf("container not in %q: %v", DefaultNamespace, err)
	}
}

// TestContainersSurviveDaemonRestart: containerd's shims keep containers
// running while the daemon is down, and a restarted daemon finds them again.
func TestContainersSurviveDaemonRestart(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	cfg := e.config("durable", "/testbin", "sleep")
	e.run(t, cfg)
	awaitLog(t, cfg.LogPath, "ready")
	infos, err := e.rt.List(ctx)
	if err != nil || len(infos) != 1 {
		t.Fatalf("List = %v, %v", infos, err)
	}
	pid := int(infos[0].PID)

	e.rt.Close()
	if err := e.daemon.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("container pid %d gone after the daemon stopped: %v", pid, err)
	}

	d2, err := containerdproc.Start(ctx, e.daemon.Dir(), nil)
	if err != nil {
		t.Fatalf("restart containerd: %v", err)
	}
	t.Cleanup(func() {
		if err := d2.Purge(context.Background()); err != nil {
			t.Errorf("purge: %v", err)
		}
		if err := d2.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	rt, err := NewContainerd(ctx, d2.Socket())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	infos, err = rt.List(ctx)
	if err != nil || len(infos) != 1 || infos[0].TaskStatus != "running" || int(infos[0].PID) != pid {
		t.Fatalf("List after daemon restart = %+v, %v, want the running task with pid %d", infos, err, pid)
	}
	exits, err := rt.Wait(ctx, cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Stop(ctx, cfg.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if s := awaitExit(t, exits, 5*time.Second); s.Err != nil || s.Code != 0 {
		t.Errorf("exit after daemon restart = %+v, want 0", s)
	}
}

// TestPurgeKillsShimsOfStoppedDaemon covers the fallback tests rely on when
// the daemon is gone: shims and containers are found by PID file and killed,
// and their mounts released.
func TestPurgeKillsShimsOfStoppedDaemon(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	cfg := e.config("orphan", "/testbin", "sleep")
	e.run(t, cfg)
	awaitLog(t, cfg.LogPath, "ready")
	infos, err := e.rt.List(ctx)
	if err != nil || len(infos) != 1 {
		t.Fatalf("List = %v, %v", infos, err)
	}
	pid := int(infos[0].PID)
	e.rt.Close()
	if err := e.daemon.Stop(); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("sh", "-c", "ls -la "+e.daemon.StateDir()+"/io.containerd.runtime.v2.task/*/*; cat "+e.daemon.StateDir()+"/io.containerd.runtime.v2.task/*/*/*.pid; ls -R "+e.daemon.RuncRoot()).CombinedOutput()
	t.Logf("DEBUG %s", out)
	if err := e.daemon.Purge(ctx); err != nil {
		t.Fatalf("Purge after Stop: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("container pid %d alive after Purge", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mi), e.daemon.Dir()+"/") {
		t.Errorf("mounts under %s remain after Purge", e.daemon.Dir())
	}
}

// BenchmarkCreateStart measures Create+Start of the small test container,
// the part of a replica's start that containerd and runc cost.
func BenchmarkCreateStart(b *testing.B) {
	e := newTestEnv(b)
	ctx := testContext(b)
	var ids []string
	var create, start time.Duration
	n := 0
	for ; b.Loop(); n++ {
		cfg := e.config(fmt.Sprintf("bench%d", n), "/testbin", "sleep")
		t0 := time.Now()
		if err := e.rt.Create(ctx, cfg); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := e.rt.Start(ctx, cfg.ID); err != nil {
			b.Fatal(err)
		}
		create += t1.Sub(t0)
		start += time.Since(t1)
		ids = append(ids, cfg.ID)
		// Keep at most a few running, outside the measurement.
		if len(ids) >= 4 {
			b.StopTimer()
			for _, id := range ids {
				if err := e.rt.Delete(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			ids = ids[:0]
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(create.Milliseconds())/float64(n), "create-ms/op")
	b.ReportMetric(float64(start.Milliseconds())/float64(n), "start-ms/op")
}
