package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

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
		// Handles SIGTERM and exits 0 at once: well before its long grace
		// period, however loaded the machine.
		{mode: "sleep", grace: 40 * time.Second, wantCode: 0, maxTime: 30 * time.Second, wantLog: "got SIGTERM"},
		// Ignores SIGTERM: SIGKILL after the grace period (the upper bound
		// only catches a hang).
		{mode: "ignore-term", grace: 500 * time.Millisecond, wantCode: 128 + 9, minTime: 500 * time.Millisecond, maxTime: 30 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			cfg := e.config(tc.mode, "/testbin", tc.mode)
			exits := e.runReady(t, cfg)
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
	e.runReady(t, cfg)

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

func TestErrorKinds(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	cfg := e.config("dup", "/testbin", "sleep")
	e.runReady(t, cfg)

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

// TestStopUsesImageStopSignal: an image whose config names a StopSignal is
// stopped with that signal, not SIGTERM.
func TestStopUsesImageStopSignal(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	const ref = "orch.local/test-usr1:1"
	tarData, err := retagWithStopSignal(ref, "SIGUSR1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.ImportImage(ctx, bytes.NewReader(tarData)); err != nil {
		t.Fatal(err)
	}
	cfg := e.config("usr1", "/testbin", "signal")
	cfg.Image = ref
	exits := e.runReady(t, cfg)
	if err := e.rt.Stop(ctx, cfg.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	awaitExit(t, exits, 5*time.Second)
	awaitLog(t, cfg.LogPath, "got user defined signal 1")
}

// retagWithStopSignal is a docker-archive of the test image under another
// name, with a stop signal in its config.
func retagWithStopSignal(to, signal string) ([]byte, error) {
	img, err := loadTestImage()
	if err != nil {
		return nil, err
	}
	img, err = withConfig(img, func(cf *v1.ConfigFile) { cf.Config.StopSignal = signal })
	if err != nil {
		return nil, err
	}
	return dockerArchive(img, to)
}
