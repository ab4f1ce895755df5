package runtime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestExec(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.config("exec1", "/testbin", "sleep")
	exits := e.runReady(t, cfg)
	ctx := testContext(t)

	t.Run("output and exit code", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code, err := e.rt.Exec(ctx, cfg.ID, ExecConfig{
			Args: []string{"/testbin", "echo", "x", "y"}, Env: []string{"EXIT_CODE=5", "GREETING=exec"},
			Stdout: &out, Stderr: &errOut,
		})
		if err != nil {
			t.Fatal(err)
		}
		if code != 5 {
			t.Errorf("exit code %d, want 5", code)
		}
		if want := "args=[x y] greeting=exec from_image=yes"; !strings.Contains(out.String(), want) {
			t.Errorf("stdout %q, want %q in it", out.String(), want)
		}
	})
	t.Run("stdin reaches the process and its end closes it", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code, err := e.rt.Exec(ctx, cfg.ID, ExecConfig{
			Args: []string{"/testbin", "cat"}, Stdin: strings.NewReader("hello\nworld\n"),
			Stdout: &out, Stderr: &errOut,
		})
		if err != nil || code != 0 {
			t.Fatalf("exec cat: code %d, err %v", code, err)
		}
		if out.String() != "hello\nworld\n" {
			t.Errorf("stdout %q", out.String())
		}
		if !strings.Contains(errOut.String(), "copied 12 bytes") {
			t.Errorf("stderr %q, want the byte count there (stderr kept apart)", errOut.String())
		}
	})
	t.Run("a terminal when asked", func(t *testing.T) {
		for _, tty := range []bool{false, true} {
			var out bytes.Buffer
			resize := make(chan TermSize, 1)
			resize <- TermSize{Width: 100, Height: 40}
			code, err := e.rt.Exec(ctx, cfg.ID, ExecConfig{Args: []string{"/testbin", "tty"}, TTY: tty, Resize: resize, Stdout: &out})
			if err != nil || code != 0 {
				t.Fatalf("tty=%v: code %d, err %v", tty, code, err)
			}
			want := "stdin is a terminal: false"
			if tty {
				want = "stdin is a terminal: true"
			}
			if !strings.Contains(out.String(), want) {
				t.Errorf("tty=%v: output %q, want %q", tty, out.String(), want)
			}
		}
	})
	t.Run("ending ctx kills the process", func(t *testing.T) {
		// ctx ends once the process runs (it says "ready"), however slow
		// the machine: before, the call would end before the kill.
		short, cancel := context.WithCancel(ctx)
		defer cancel()
		start := time.Now()
		_, err := e.rt.Exec(short, cfg.ID, ExecConfig{Args: []string{"/testbin", "ignore-term"}, Stdout: onWrite(cancel)})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context canceled", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("unknown command and missing container", func(t *testing.T) {
		if _, err := e.rt.Exec(ctx, cfg.ID, ExecConfig{Args: []string{"/nope"}}); err == nil {
			t.Error("exec of a missing binary: no error")
		}
		if _, err := e.rt.Exec(ctx, "nosuch", ExecConfig{Args: []string{"/testbin"}}); !errors.Is(err, ErrNotFound) {
			t.Errorf("exec in a missing container: %v, want ErrNotFound", err)
		}
	})
	if err := e.rt.Stop(ctx, cfg.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	awaitExit(t, exits, 10*time.Second)
	if _, err := e.rt.Exec(ctx, cfg.ID, ExecConfig{Args: []string{"/testbin", "echo"}}); !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrNotRunning) {
		t.Errorf("exec in a stopped container: %v, want ErrNotRunning or ErrNotFound", err)
	}
}

// onWrite is a writer that calls f at its first write.
func onWrite(f func()) io.Writer { return &firstWrite{f: f} }

type firstWrite struct {
	once sync.Once
	f    func()
}

func (w *firstWrite) Write(p []byte) (int, error) {
	w.once.Do(w.f)
	return len(p), nil
}
