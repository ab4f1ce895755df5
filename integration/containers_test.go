package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// podYAML is a replica of three containers: two init containers that each
// take a while, then the main hello on 8080 and a second hello, the
// sidecar, on 9090.
const podYAML = `
kind: Service
name: pod
replicas: 1
image: orch.local/hello:1
args: ["--port=8080"]
resources: {cpu: 100m, memory: 32Mi}
restart: {policy: always, backoffInitial: 200ms, backoffMax: 1s}
stopGracePeriod: 2s
init:
  - {name: migrate, image: orch.local/hello:1, command: ["/hello", "exit", "0", "--after", "500ms"], resources: {cpu: 50m, memory: 16Mi}}
  - {name: seed, image: orch.local/hello:1, command: ["/hello", "exit", "0", "--after", "500ms"], resources: {cpu: 50m, memory: 16Mi}}
sidecars:
  - {name: proxy, image: orch.local/hello:1, args: ["--port=9090"], resources: {cpu: 50m, memory: 16Mi}}
`

// badInitYAML never gets past its init container.
const badInitYAML = `
kind: Service
name: badinit
replicas: 1
image: orch.local/hello:1
args: ["--port=8080"]
resources: {cpu: 20m, memory: 16Mi}
restart: {policy: always, backoffInitial: 200ms, backoffMax: 1s}
init:
  - {name: migrate, image: orch.local/hello:1, command: ["/hello", "exit", "3"]}
`

// TestSidecarsAndInitContainers is issue 13's acceptance for replicas of
// several containers, against one dev cluster.
func TestSidecarsAndInitContainers(t *testing.T) {
	d := startDevCluster(t)
	d.loadHello()
	d.apply(podYAML)
	d.apply(badInitYAML)
	pod := d.running("pod", 1)[0]
	// Running means the processes started, not that they listen yet.
	d.eventually("both containers answer", func() error {
		for _, port := range []string{"8080", "9090"} {
			if _, err := httpGet("http://" + pod.GetIp() + ":" + port + "/healthz"); err != nil {
				return err
			}
		}
		return nil
	})
	// The statuses of the sidecar now, for the restart counts.
	pod = d.running("pod", 1)[0]

	t.Run("init containers ran in order, each to completion, before the main one", func(t *testing.T) { initRanInOrder(t, pod) })
	t.Run("describe shows the containers and init progress", func(t *testing.T) { describeShowsContainers(t, d, pod) })
	t.Run("a failing init container keeps the replica from starting", func(t *testing.T) { failingInitBlocks(t, d) })
	t.Run("the sidecar answers the main container on 127.0.0.1, and back", func(t *testing.T) { sidecarShareLoopback(t, d, pod) })
	t.Run("logs -c and exec -c reach the sidecar", func(t *testing.T) { logsAndExecPickContainer(t, d, pod) })
	t.Run("a crash of the sidecar restarts only the sidecar", func(t *testing.T) { sidecarCrashRestartsOnlyIt(t, d, pod) })
	t.Run("resources add up for the scheduler and hold per container", func(t *testing.T) { podResources(t, pod) })
	t.Run("kill -9 of the agent adopts every container", func(t *testing.T) { agentRestartAdoptsPod(t, d, pod) })
}

func containerOf(r *orchpb.Replica, name string) *orchpb.ContainerStatus {
	for _, c := range r.GetContainers() {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}

func initRanInOrder(t *testing.T, pod *orchpb.Replica) {
	migrate, seed := containerOf(pod, "migrate"), containerOf(pod, "seed")
	if migrate.GetState() != "completed" || seed.GetState() != "completed" {
		t.Fatalf("init containers %v and %v, want both completed", migrate, seed)
	}
	// Each takes 500ms: the next one cannot have started sooner after it.
	if seed.GetStartedAt() < migrate.GetStartedAt()+500 || pod.GetStartedAt() < seed.GetStartedAt()+500 {
		t.Errorf("started at %d (migrate), %d (seed), %d (main): not one after the other", migrate.GetStartedAt(), seed.GetStartedAt(), pod.GetStartedAt())
	}
}

func failingInitBlocks(t *testing.T, d *devCluster) {
	d.eventually("badinit retried its init container", func() error {
		r := d.replicaOf("badinit")
		c := containerOf(r, "migrate")
		switch {
		case r.Observed() != orchpb.ReplicaStarting || !strings.Contains(r.GetMessage(), "init failed: migrate exited 3"):
			return fmt.Errorf("replica %s: %q", r.GetState(), r.GetMessage())
		case c.GetRestarts() < 2 || c.GetExitCode() != 3:
			return fmt.Errorf("init container %v", c)
		}
		return nil
	})
	if _, ok := d.tasks()[d.replicaOf("badinit").GetId()]; ok {
		t.Error("the main container of badinit exists")
	}
}

func sidecarShareLoopback(t *testing.T, d *devCluster, pod *orchpb.Replica) {
	// The main container fetches from the sidecar...
	body, err := httpGet("http://" + pod.GetIp() + ":8080/fetch?url=http://127.0.0.1:9090/healthz")
	if err != nil || !strings.Contains(body, "ok") {
		t.Errorf("main → sidecar on 127.0.0.1: %q, %v", body, err)
	}
	// ...and the sidecar is on the replica's one IP.
	if body, err := httpGet("http://" + pod.GetIp() + ":9090/healthz"); err != nil || body != "ok\n" {
		t.Errorf("sidecar on the replica's IP: %q, %v", body, err)
	}
}

func logsAndExecPickContainer(t *testing.T, d *devCluster, pod *orchpb.Replica) {
	name := pod.DisplayName()
	if _, err := httpGet("http://" + pod.GetIp() + ":9090/?to-the-sidecar"); err != nil {
		t.Fatal(err)
	}
	d.eventually("the sidecar's log has the request", func() error {
		out, errOut, code := d.orchctl(t, "logs", name, "-c", "proxy")
		if code != 0 || !strings.Contains(out, "to-the-sidecar") {
			return fmt.Errorf("logs -c proxy: exit %d, %q, %q", code, out, errOut)
		}
		return nil
	})
	if out, _, _ := d.orchctl(t, "logs", name); strings.Contains(out, "to-the-sidecar") {
		t.Error("the main container's log has the sidecar's request")
	}
	if out, _, code := d.orchctl(t, "logs", name, "-c", "migrate"); code != 0 || !strings.Contains(out, "exit 0") {
		t.Errorf("logs -c migrate: exit %d, %q", code, out)
	}
	// exec -c proxy runs in the sidecar: its 127.0.0.1:8080 is the main
	// container, and its own /proc/1 is the sidecar's hello on 9090.
	out, errOut, code := d.orchctl(t, "exec", name, "-c", "proxy", "--", "/hello", "cat", "/proc/1/cmdline")
	if code != 0 || !strings.Contains(out, "--port=9090") {
		t.Errorf("exec -c proxy cat /proc/1/cmdline: exit %d, %q, %q", code, out, errOut)
	}
	if out, _, code := d.orchctl(t, "exec", name, "-c", "proxy", "--", "/hello", "get", "http://127.0.0.1:8080/healthz"); code != 0 || out != "ok\n" {
		t.Errorf("exec in the sidecar to the main container: exit %d, %q", code, out)
	}
	if out, _, _ := d.orchctl(t, "exec", name, "--", "/hello", "cat", "/proc/1/cmdline"); !strings.Contains(out, "--port=8080") {
		t.Errorf("exec without -c is not in the main container: %q", out)
	}
	if _, errOut, code := d.orchctl(t, "exec", name, "-c", "nosuch", "--", "/hello"); code == 0 || !strings.Contains(errOut, "no container") {
		t.Errorf("exec -c nosuch: exit %d, %q", code, errOut)
	}
}

func sidecarCrashRestartsOnlyIt(t *testing.T, d *devCluster, pod *orchpb.Replica) {
	ctx := context.Background()
	before := d.tasks()
	sidecarID := pod.GetId() + ".proxy"
	restarts := containerOf(pod, "proxy").GetRestarts()
	_, _ = httpGet("http://" + pod.GetIp() + ":9090/crash?code=7")
	d.eventually("the sidecar restarted", func() error {
		r, err := d.api.GetReplica(ctx, pod.GetId(), "")
		if err != nil {
			return err
		}
		c := containerOf(r, "proxy")
		if c.GetRestarts() != restarts+1 || c.GetState() != "running" || c.GetExitCode() != 7 {
			return fmt.Errorf("sidecar %v", c)
		}
		if pid := d.tasks()[sidecarID]; pid == 0 || pid == before[sidecarID] {
			return fmt.Errorf("sidecar task pid %d, was %d", pid, before[sidecarID])
		}
		return nil
	})
	r, err := d.api.GetReplica(ctx, pod.GetId(), "")
	if err != nil {
		t.Fatal(err)
	}
	if r.GetRestarts() != pod.GetRestarts() || r.GetStartedAt() != pod.GetStartedAt() || d.tasks()[pod.GetId()] != before[pod.GetId()] {
		t.Errorf("the main container restarted too: restarts %d→%d, pid %d→%d", pod.GetRestarts(), r.GetRestarts(), before[pod.GetId()], d.tasks()[pod.GetId()])
	}
	d.eventually("the restarted sidecar answers", func() error {
		_, err := httpGet("http://" + pod.GetIp() + ":9090/healthz")
		return err
	})
}

func agentRestartAdoptsPod(t *testing.T, d *devCluster, pod *orchpb.Replica) {
	ctx := context.Background()
	before := d.tasks()
	r0, err := d.api.GetReplica(ctx, pod.GetId(), "")
	if err != nil {
		t.Fatal(err)
	}
	d.kill9()
	d.start()
	d.running("pod", 1)
	after := d.tasks()
	for _, id := range []string{pod.GetId(), pod.GetId() + ".proxy"} {
		if before[id] == 0 || after[id] != before[id] {
			t.Errorf("container %s: task pid %d before, %d after", id, before[id], after[id])
		}
	}
	r, err := d.api.GetReplica(ctx, pod.GetId(), "")
	if err != nil {
		t.Fatal(err)
	}
	if r.GetRestarts() != r0.GetRestarts() || containerOf(r, "proxy").GetRestarts() != containerOf(r0, "proxy").GetRestarts() {
		t.Errorf("restarts after adoption: %v, before %v", r, r0)
	}
	if containerOf(r, "migrate").GetState() != "completed" {
		t.Errorf("init ran again after adoption: %v", containerOf(r, "migrate"))
	}
}

func describeShowsContainers(t *testing.T, d *devCluster, pod *orchpb.Replica) {
	out, errOut, code := d.orchctl(t, "describe", "replica", pod.DisplayName())
	for _, want := range []string{"Init:", "2 of 2 completed", "Containers:", "proxy", "sidecar", "migrate", "completed"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("describe replica lacks %q (exit %d, %s):\n%s", want, code, errOut, out)
		}
	}
	out, _, _ = d.orchctl(t, "describe", "service", "pod")
	if !strings.Contains(out, "pod (main); proxy (sidecar); init: migrate, then seed") {
		t.Errorf("describe service lacks the containers:\n%s", out)
	}
}

func podResources(t *testing.T, pod *orchpb.Replica) {
	// cpu: 100m + 50m (sidecar) is more than 50m (an init container);
	// memory: 32Mi + 16Mi.
	if got := pod.GetResources(); got.GetCpuMillis() != 150 || got.GetMemoryBytes() != 48<<20 {
		t.Errorf("replica resources %v, want 150m and 48Mi", got)
	}
	for file, want := range map[string]string{
		"memory/orch/" + pod.GetId() + "/memory.limit_in_bytes":       strconv.Itoa(32 << 20),
		"memory/orch/" + pod.GetId() + ".proxy/memory.limit_in_bytes": strconv.Itoa(16 << 20),
		"cpu/orch/" + pod.GetId() + ".proxy/cpu.cfs_quota_us":         "5000",
	} {
		b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", file))
		if os.IsNotExist(err) && !strings.Contains(file, ".proxy") {
			t.Skipf("no cgroup v1 file %s (cgroup v2 host?)", file)
		}
		if err != nil || strings.TrimSpace(string(b)) != want {
			t.Errorf("%s = %q (%v), want %s", file, strings.TrimSpace(string(b)), err, want)
		}
	}
}
