package runtime

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/orch-io/orch/agent/runtime/containerdproc"
	"github.com/orch-io/orch/agent/runtime/containerdproc/containerdtest"
)

// testImageRef names the image every containerd test runs.
const testImageRef = "orch.local/test:1"

// testImageTar is a docker-archive of testImageRef, built once in TestMain;
// empty when it could not be built (the tests that need it then fail).
var testImageTar []byte

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runtime-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testImageTar, err = buildTestImage(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "build test image:", err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildTestImage compiles testdata/testbin as a static binary and wraps it in
// a one-layer image whose entrypoint is /testbin.
func buildTestImage(dir string) ([]byte, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	bin := filepath.Join(dir, "testbin")
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./testdata/testbin")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build testbin: %w\n%s", err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}

	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	for _, d := range []string{"tmp/", "etc/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o1777}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "testbin", Mode: 0o755, Size: int64(len(exe))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(exe); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar.Bytes())), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	img, err = withConfig(img, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture = "linux", goruntime.GOARCH
		cf.Config = v1.Config{
			Entrypoint: []string{"/testbin"},
			Cmd:        []string{"echo", "from-image-cmd"},
			Env:        []string{"PATH=/", "FROM_IMAGE=yes", "GREETING=image-default"},
		}
	})
	if err != nil {
		return nil, err
	}
	return dockerArchive(img, testImageRef)
}

// withConfig is img with its config changed by edit.
func withConfig(img v1.Image, edit func(*v1.ConfigFile)) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	edit(cf)
	return mutate.ConfigFile(img, cf)
}

// dockerArchive writes img as a docker-archive that names it ref.
func dockerArchive(img v1.Image, ref string) ([]byte, error) {
	tag, err := name.NewTag(ref)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := tarball.Write(tag, img, &out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// loadTestImage reads testImageRef back from testImageTar.
func loadTestImage() (v1.Image, error) {
	tag, err := name.NewTag(testImageRef)
	if err != nil {
		return nil, err
	}
	return tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(testImageTar)), nil }, &tag)
}

// testEnv is a private containerd with the test image imported.
type testEnv struct {
	daemon *containerdproc.Daemon
	rt     *Containerd
	socket string
	logDir string
}

func newTestEnv(t testing.TB, opts ...Option) *testEnv {
	t.Helper()
	d := containerdtest.Start(t)
	if len(testImageTar) == 0 {
		t.Fatal("no test image (see TestMain's output)")
	}
	ctx := testContext(t)
	rt, err := NewContainerd(ctx, d.Socket(), append([]Option{WithRuncRoot(d.RuncRoot())}, opts...)...)
	if err != nil {
		t.Fatalf("NewContainerd: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	if _, err := rt.ImportImage(ctx, bytes.NewReader(testImageTar)); err != nil {
		t.Fatalf("ImportImage: %v", err)
	}
	return &testEnv{daemon: d, rt: rt, socket: d.Socket(), logDir: t.TempDir()}
}

// config is a container of the test image logging into the test's log dir.
func (e *testEnv) config(id string, command ...string) ContainerConfig {
	return ContainerConfig{
		ID:      id,
		Image:   testImageRef,
		Command: command,
		LogPath: filepath.Join(e.logDir, id+".log"),
		Labels:  map[string]string{"orch.replica": id},
	}
}

// run creates and starts cfg and returns its exit channel.
func (e *testEnv) run(t testing.TB, cfg ContainerConfig) <-chan ExitStatus {
	t.Helper()
	ctx := testContext(t)
	if err := e.rt.Create(ctx, cfg); err != nil {
		t.Fatalf("Create %s: %v", cfg.ID, err)
	}
	if _, err := e.rt.Start(ctx, cfg.ID); err != nil {
		t.Fatalf("Start %s: %v", cfg.ID, err)
	}
	exits, err := e.rt.Wait(ctx, cfg.ID)
	if err != nil {
		t.Fatalf("Wait %s: %v", cfg.ID, err)
	}
	return exits
}

// runReady runs cfg, a test binary mode that says "ready" once it serves
// (sleep, signal, ignore-term), waits for that, and returns its exit
// channel.
func (e *testEnv) runReady(t testing.TB, cfg ContainerConfig) <-chan ExitStatus {
	t.Helper()
	exits := e.run(t, cfg)
	awaitLog(t, cfg.LogPath, "ready")
	return exits
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// awaitExit returns the exit from exits or fails the test after d.
func awaitExit(t testing.TB, exits <-chan ExitStatus, d time.Duration) ExitStatus {
	t.Helper()
	select {
	case s := <-exits:
		return s
	case <-time.After(d):
		t.Fatalf("no exit within %v", d)
		return ExitStatus{}
	}
}

// awaitTaskStatus waits until List shows container id's task in status.
func awaitTaskStatus(ctx context.Context, t testing.TB, rt *Containerd, id, status string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		infos, err := rt.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range infos {
			if in.ID == id && in.TaskStatus == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s: task not %s after 10s: %+v", id, status, infos)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// awaitLog waits until the log file at path contains want.
func awaitLog(t testing.TB, path, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if bytes.Contains(b, []byte(want)) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("log %s lacks %q after 10s; it holds:\n%s", path, want, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pushTestImage serves the test image from an in-process registry at ref
// (HOST:PORT/repo:tag), over TLS when tls is set, and returns the ref.
func pushTestImage(t *testing.T, tls bool, repo string) string {
	t.Helper()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewUnstartedServer(h)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	ref := u.Host + "/" + repo
	img, err := loadTestImage()
	if err != nil {
		t.Fatal(err)
	}
	dst, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	opts := []remote.Option{}
	if tls {
		opts = append(opts, remote.WithTransport(srv.Client().Transport))
	}
	if err := remote.Write(dst, img, opts...); err != nil {
		t.Fatalf("push to test registry: %v", err)
	}
	return ref
}
