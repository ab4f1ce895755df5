package hollow_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/measure"
)

// scaleMaster is one `orchd master` process of BenchmarkScale, known by
// its PID: its CPU and memory are read from /proc/PID, apart from this
// process's (the hollow nodes').
type scaleMaster struct {
	id, dir          string
	apiAddr, raftAdr string
	cmd              *exec.Cmd
	done             chan struct{}
	log              *os.File
}

func (m *scaleMaster) url() string { return "https://" + m.apiAddr }

func (m *scaleMaster) pid() int { return m.cmd.Process.Pid }

// newScaleMaster prepares master id in its own temporary directory; the
// process is stopped (by its PID) before the directory is removed.
func newScaleMaster(b *testing.B, id string) *scaleMaster {
	m := &scaleMaster{id: id, dir: b.TempDir(), apiAddr: freeAddr(b), raftAdr: freeAddr(b)}
	b.Cleanup(m.stop)
	return m
}

// start runs orchd master with args after the common ones; its output
// goes to DIR/master.log.
func (m *scaleMaster) start(bin string, args ...string) error {
	log, err := os.Create(filepath.Join(m.dir, "master.log"))
	if err != nil {
		return fmt.Errorf("scale: log of %s: %w", m.id, err)
	}
	common := []string{"master", "--id", m.id, "--data-dir", filepath.Join(m.dir, "data"),
		"--api-addr", m.apiAddr, "--raft-addr", m.raftAdr}
	// Diagnosis only (the recorded runs use the defaults): flags for every
	// master, e.g. longer Raft timeouts on a loaded machine.
	common = append(common, strings.Fields(os.Getenv("ORCH_SCALE_MASTER_FLAGS"))...)
	common = append(common, m.pprofFlag()...)
	m.cmd = exec.Command(bin, append(common, args...)...)
	m.cmd.Stdout, m.cmd.Stderr = log, log
	// Should the benchmark itself be killed, its masters go too (best
	// effort: the signal follows the thread that started them).
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("scale: start %s: %w", m.id, err)
	}
	m.log, m.done = log, make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(m.done) }()
	return nil
}

// pprofFlag serves master mN's Go profiles on 127.0.0.1:BASE+N-1 when
// ORCH_SCALE_MASTER_PPROF names a BASE port (diagnosis: the leader and
// the followers, profiled side by side).
func (m *scaleMaster) pprofFlag() []string {
	base, err := strconv.Atoi(os.Getenv("ORCH_SCALE_MASTER_PPROF"))
	n, nerr := strconv.Atoi(strings.TrimPrefix(m.id, "m"))
	if err != nil || nerr != nil {
		return nil
	}
	return []string{"--pprof-addr", fmt.Sprintf("127.0.0.1:%d", base+n-1)}
}

func (m *scaleMaster) alive() bool {
	if m.done == nil {
		return false
	}
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// kill9 ends the master at once, as a crash would.
func (m *scaleMaster) kill9() {
	if !m.alive() {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
}

// stop ends the master by SIGTERM, by SIGKILL after 20 s.
func (m *scaleMaster) stop() {
	if m.alive() {
		_ = m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.done:
		case <-time.After(20 * time.Second):
			m.kill9()
		}
	}
	if m.log != nil {
		m.log.Close()
	}
}

// cpu is the master's CPU seconds so far (0 once it has ended).
func (m *scaleMaster) cpu() float64 {
	if !m.alive() {
		return 0
	}
	s, _ := measure.CPUSeconds(m.pid())
	return s
}

func (m *scaleMaster) memory() measure.Memory {
	mem, _ := measure.MemoryOf(m.pid())
	return mem
}

// logTail is the end of the master's output, for a failure's message.
func (m *scaleMaster) logTail() string {
	data, _ := os.ReadFile(filepath.Join(m.dir, "master.log"))
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// buildOrchd compiles the daemon into a temporary directory of b.
func buildOrchd(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "orchd")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/orchd").CombinedOutput()
	if err != nil {
		b.Fatalf("build orchd: %v\n%s", err, out)
	}
	return bin
}
