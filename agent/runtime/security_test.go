package runtime

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// capNetRaw is CAP_NET_RAW's bit in /proc/PID/status's capability masks.
const capNetRaw = 13

// statusField is the value of key in a /proc/PID/status dump.
func statusField(t *testing.T, status, key string) string {
	t.Helper()
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in status:\n%s", key, status)
	return ""
}

func hasCap(t *testing.T, mask string, bit uint) bool {
	t.Helper()
	v, err := strconv.ParseUint(mask, 16, 64)
	if err != nil {
		t.Fatalf("capability mask %q: %v", mask, err)
	}
	return v&(1<<bit) != 0
}

// runOutput runs cfg to its exit and returns its log once it holds want.
func (e *testEnv) runOutput(t *testing.T, cfg ContainerConfig, want string) string {
	t.Helper()
	if s := awaitExit(t, e.run(t, cfg), 10*time.Second); s.Err != nil || s.Code != 0 {
		t.Fatalf("%s exited %+v", cfg.ID, s)
	}
	return awaitLog(t, cfg.LogPath, want)
}

func TestSecurityDefaults(t *testing.T) {
	e := newTestEnv(t)
	status := e.runOutput(t, e.config("sec-status", "/testbin", "show", "/proc/self/status"), "Seccomp:")
	if got := statusField(t, status, "Seccomp"); got != "2" {
		t.Errorf("Seccomp = %s, want 2 (a filter)", got)
	}
	if got := statusField(t, status, "NoNewPrivs"); got != "1" {
		t.Errorf("NoNewPrivs = %s, want 1", got)
	}
	for _, set := range []string{"CapEff", "CapBnd", "CapPrm"} {
		if hasCap(t, statusField(t, status, set), capNetRaw) {
			t.Errorf("%s %s holds CAP_NET_RAW", set, statusField(t, status, set))
		}
	}
	if !hasCap(t, statusField(t, status, "CapEff"), 10) { // NET_BIND_SERVICE stays
		t.Errorf("CapEff %s lacks CAP_NET_BIND_SERVICE", statusField(t, status, "CapEff"))
	}
	if got := e.runOutput(t, e.config("sec-raw", "/testbin", "rawsocket"), "raw socket:"); !strings.Contains(got, "operation not permitted") {
		t.Errorf("raw socket without NET_RAW: %q, want operation not permitted", got)
	}
	if got := e.runOutput(t, e.config("sec-write", "/testbin", "write", "/probe"), "write:"); !strings.Contains(got, "write: <nil>") {
		t.Errorf("write to / by default: %q, want it to succeed", got)
	}
}

func TestPidsLimit(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	cfg := e.config("pids", "/testbin", "sleep")
	cfg.Pids = 100
	e.runReady(t, cfg)
	ctr, err := e.rt.client.LoadContainer(e.rt.ns(ctx), cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ctr.Spec(e.rt.ns(ctx))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cgroupRoot, "pids", spec.Linux.CgroupsPath)
	if detectCgroups().unified {
		dir = filepath.Join(cgroupRoot, spec.Linux.CgroupsPath)
	}
	if got := readTrim(t, filepath.Join(dir, "pids.max")); got != "100" {
		t.Errorf("pids.max = %s, want 100", got)
	}
}

func TestSecurityOptions(t *testing.T) {
	e := newTestEnv(t)

	user := e.config("opt-user", "/testbin", "show", "/proc/self/status")
	user.User = "1000:1001"
	status := e.runOutput(t, user, "Seccomp:")
	if got := strings.Fields(statusField(t, status, "Uid")); got[0] != "1000" || got[1] != "1000" {
		t.Errorf("Uid = %v, want 1000", got)
	}
	if got := strings.Fields(statusField(t, status, "Gid")); got[0] != "1001" {
		t.Errorf("Gid = %v, want 1001", got)
	}
	if got := statusField(t, status, "CapEff"); got != "0000000000000000" {
		t.Errorf("CapEff = %s as uid 1000, want none (as docs/manifest.md says)", got)
	}

	ro := e.config("opt-ro", "/testbin", "write", "/probe")
	ro.ReadOnlyRootFS = true
	if got := e.runOutput(t, ro, "write:"); !strings.Contains(got, "read-only file system") {
		t.Errorf("write to a read-only root: %q, want read-only file system", got)
	}

	raw := e.config("opt-cap", "/testbin", "rawsocket")
	raw.AddCapabilities = []string{"NET_RAW"}
	if got := e.runOutput(t, raw, "raw socket:"); !strings.Contains(got, "raw socket: <nil>") {
		t.Errorf("raw socket with NET_RAW added: %q, want it to open", got)
	}
	capStatus := e.config("opt-cap-status", "/testbin", "show", "/proc/self/status")
	capStatus.AddCapabilities = []string{"NET_RAW"}
	status = e.runOutput(t, capStatus, "Seccomp:")
	if !hasCap(t, statusField(t, status, "CapEff"), capNetRaw) {
		t.Errorf("CapEff %s lacks the added CAP_NET_RAW", statusField(t, status, "CapEff"))
	}
	if got := statusField(t, status, "Seccomp"); got != "2" {
		t.Errorf("Seccomp = %s with a capability added, want 2", got)
	}
}

func TestUnknownUserFailsCreate(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.config("opt-nobody", "/testbin", "echo")
	cfg.User = "nobody" // the test image has no /etc/passwd
	err := e.rt.Create(testContext(t), cfg)
	if err == nil || !strings.Contains(err.Error(), `user "nobody"`) {
		t.Errorf("Create with an unknown user name: %v, want an error naming it", err)
	}
}
