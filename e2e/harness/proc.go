package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is one orchd process running inside a host's namespace. It can be
// killed and started again with the same arguments (same data dir).
type Proc struct {
	Name   string
	nsPath string
	args   []string
	runDir string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func newProc(name, nsPath, runDir string, args []string) *Proc {
	return &Proc{Name: name, nsPath: nsPath, args: args, runDir: runDir}
}

// LogPath is the file the process writes its output to (appended across
// restarts).
func (p *Proc) LogPath() string { return filepath.Join(p.runDir, p.Name+".log") }

func (p *Proc) pidPath() string { return filepath.Join(p.runDir, "pids", p.Name+".pid") }

// Start runs the process; it is an error if it already runs.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s: already running", p.Name)
	}
	f, err := os.OpenFile(p.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "---- %s start %s\n", time.Now().Format(time.RFC3339Nano), p.Name)
	// nsenter execs orchd, so the PID is orchd's; it stays in the machine's
	// mount namespace, where containerd must see the replica namespaces.
	cmd := exec.Command("nsenter", append([]string{"--net=" + p.nsPath, "--"}, p.args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "HOME="+p.runDir)
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("%s: start: %w", p.Name, err)
	}
	if err := os.MkdirAll(filepath.Dir(p.pidPath()), 0o755); err == nil {
		_ = os.WriteFile(p.pidPath(), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(done) }()
	p.cmd, p.done = cmd, done
	return nil
}

// Running reports whether the process is alive.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Kill ends the process with SIGKILL: nothing of its own cleanup runs.
func (p *Proc) Kill() error { return p.stop(syscall.SIGKILL, 0) }

// Stop ends the process with SIGTERM, and SIGKILL after grace.
func (p *Proc) Stop(grace time.Duration) error { return p.stop(syscall.SIGTERM, grace) }

func (p *Proc) stop(sig syscall.Signal, grace time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: signal: %w", p.Name, err)
	}
	if grace > 0 {
		select {
		case <-done:
		case <-time.After(grace):
			_ = cmd.Process.Kill()
			<-done
		}
	} else {
		<-done
	}
	_ = os.Remove(p.pidPath())
	return nil
}

// SetBinary makes the next Start run bin instead (an upgrade); the
// arguments stay.
func (p *Proc) SetBinary(bin string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.args = append([]string{bin}, p.args[1:]...)
}

// Restart stops (SIGTERM) and starts the process again.
func (p *Proc) Restart(grace time.Duration) error {
	if err := p.Stop(grace); err != nil {
		return err
	}
	return p.Start()
}

// LogSize is the current size of the process's log, a mark for WaitLog.
func (p *Proc) LogSize() int64 {
	st, err := os.Stat(p.LogPath())
	if err != nil {
		return 0
	}
	return st.Size()
}

// WaitLog waits until the log, past the mark from LogSize, contains text.
func (p *Proc) WaitLog(mark int64, text string, timeout time.Duration) error {
	return Poll(timeout, 100*time.Millisecond, func() error {
		data, err := os.ReadFile(p.LogPath())
		if err != nil {
			return err
		}
		if int64(len(data)) > mark && strings.Contains(string(data[mark:]), text) {
			return nil
		}
		return fmt.Errorf("%s: no %q in its log yet", p.Name, text)
	})
}
