package runtime

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/orch-io/orch/agent/runtime/containerdproc"
)

func TestAdoptionAfterClientRestart(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	cfg := e.config("survivor", "/testbin", "sleep")
	e.runReady(t, cfg)
	pid := e.soleTaskPID(t)
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
		PID:        pid,
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
	awaitTaskStatus(ctx, t, e.rt, cfg.ID, "stopped")
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

// TestContainersSurviveDaemonRestart: containerd's shims keep containers
// running while the daemon is down, and a restarted daemon finds them again.
func TestContainersSurviveDaemonRestart(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	cfg, pid := e.sleeperWithDaemonStopped(t, "durable")
	if !alive(pid) {
		t.Fatalf("container pid %d gone after the daemon stopped", pid)
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
	infos, err := rt.List(ctx)
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
// the daemon is gone: shims and containers are found in /proc and killed by
// PID, and their mounts released.
func TestPurgeKillsShimsOfStoppedDaemon(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	_, pid := e.sleeperWithDaemonStopped(t, "orphan")
	if err := e.daemon.Purge(ctx); err != nil {
		t.Fatalf("Purge after Stop: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
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

// soleTaskPID fails the test unless the namespace holds exactly one
// container, and returns its task's pid.
func (e *testEnv) soleTaskPID(t testing.TB) uint32 {
	t.Helper()
	infos, err := e.rt.List(testContext(t))
	if err != nil || len(infos) != 1 {
		t.Fatalf("List = %v, %v", infos, err)
	}
	return infos[0].PID
}

// sleeperWithDaemonStopped runs a sleeping container named id, then closes
// the client and stops the daemon under it, and returns the container and
// its pid.
func (e *testEnv) sleeperWithDaemonStopped(t testing.TB, id string) (ContainerConfig, int) {
	t.Helper()
	cfg := e.config(id, "/testbin", "sleep")
	e.runReady(t, cfg)
	pid := int(e.soleTaskPID(t))
	e.rt.Close()
	if err := e.daemon.Stop(); err != nil {
		t.Fatal(err)
	}
	return cfg, pid
}

// alive: pid exists and is not a zombie waiting for init to reap it.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
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
