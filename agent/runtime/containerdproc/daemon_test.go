package containerdproc_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"

	"github.com/orch-io/orch/agent/runtime/containerdproc"
	"github.com/orch-io/orch/agent/runtime/containerdproc/containerdtest"
)

func TestStartWritesConfigAndAnswers(t *testing.T) {
	d := containerdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if !containerdproc.Answers(ctx, d.Socket()) {
		t.Fatalf("Answers(%s) = false for a started daemon", d.Socket())
	}
	cfg, err := os.ReadFile(filepath.Join(d.Dir(), "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`root = "` + filepath.Join(d.Dir(), "root") + `"`,
		`state = "` + d.StateDir() + `"`,
		`address = "` + d.Socket() + `"`,
		`"io.containerd.grpc.v1.cri"`,
	} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config.toml lacks %s:\n%s", want, cfg)
		}
	}

	c, err := client.New(d.Socket())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v, err := c.Version(ctx)
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	t.Logf("containerd %s at pid %d", v.Version, d.PID())
	// The overlayfs snapshotter must have loaded: it is the runtime's default.
	resp, err := c.IntrospectionService().Plugins(ctx, "type==io.containerd.snapshotter.v1,id==overlayfs")
	if err != nil {
		t.Fatalf("introspect plugins: %v", err)
	}
	if len(resp.Plugins) != 1 || resp.Plugins[0].InitErr != nil {
		t.Errorf("overlayfs snapshotter plugin = %v, want one, loaded without error", resp.Plugins)
	}
	// Its own process group, so a terminal's Ctrl-C does not reach it first.
	if pgid, err := syscall.Getpgid(d.PID()); err != nil || pgid != d.PID() {
		t.Errorf("containerd pgid = %d (%v), want its own pid %d", pgid, err, d.PID())
	}
}

func TestStopEndsProcess(t *testing.T) {
	d := containerdtest.Start(t)
	pid := d.PID()
	if err := d.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("containerd pid %d still exists after Stop", pid)
	}
	if containerdproc.Answers(context.Background(), d.Socket()) {
		t.Errorf("Answers is true after Stop")
	}
	if err := d.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestAnswersFalseWithoutDaemon(t *testing.T) {
	dir := t.TempDir()
	for _, sock := range []string{filepath.Join(dir, "absent.sock"), dir} {
		if containerdproc.Answers(context.Background(), sock) {
			t.Errorf("Answers(%s) = true with no daemon", sock)
		}
	}
}

func TestStartRejectsLongDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("x", 100))
	_, err := containerdproc.Start(context.Background(), dir, nil)
	if err == nil || !strings.Contains(err.Error(), "unix socket limit") {
		t.Fatalf("Start with a long dir: err = %v, want the socket length error", err)
	}
}
