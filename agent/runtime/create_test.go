package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestResourceLimits(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	cfg := e.config("limited", "/testbin", "sleep")
	cfg.CPUMillis = 250
	cfg.MemoryBytes = 64 << 20
	e.runReady(t, cfg)

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

	// And the kernel enforces them.
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
	e.runReady(t, owner)
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
		{"negative pids", func(c *ContainerConfig) { c.Pids = -1 }, "pids:"},
		{"capability with CAP_", func(c *ContainerConfig) { c.AddCapabilities = []string{"CAP_NET_RAW"} }, "addCapabilities[0]:"},
	}
	for _, tc := range cases {
		cfg := e.config("bad", "/testbin", "echo")
		tc.mod(&cfg)
		if err := e.rt.Create(ctx, cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Create err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}
