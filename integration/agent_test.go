package integration

import (
	"bufio"
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
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/api/client"
	orchpb "github.com/orch-io/orch/proto"
)

// healthYAML is one replica of the sample image checked by kind (http,
// tcp or exec) on the given interval; the start period leaves the test time
// to undo what made it unhealthy before the restarted replica is judged.
// The CPU is enough for an exec check to finish within its timeout: the
// exec'd process starts inside the container's CPU quota, and runc loads
// the seccomp profile there, which at 20m takes over a second.
func healthYAML(svc, check, interval, timeout string) string {
	return fmt.Sprintf(`
kind: Service
name: %s
replicas: 1
image: orch.local/hello:1
args: ["--port=8080"]
resources: {cpu: 250m, memory: 32Mi}
health: {%s, interval: %s, timeout: %s, retries: 2, startPeriod: 2s}
restart: {policy: always, backoffInitial: 100ms, backoffMax: 1s}
stopGracePeriod: 2s
`, svc, check, interval, timeout)
}

const (
	crashLoopYAML = `
kind: Service
name: crashloop
replicas: 1
image: orch.local/hello:1
command: ["/hello", "bogus"]
resources: {cpu: 10m, memory: 16Mi}
restart: {policy: always, backoffInitial: 200ms, backoffMax: 800ms}
`
	onceYAML = `
kind: Service
name: once
replicas: 1
image: orch.local/hello:1
command: ["/hello", "bogus"]
resources: {cpu: 10m, memory: 16Mi}
restart: {policy: never}
`
	oomYAML = `
kind: Service
name: oom
replicas: 1
image: orch.local/hello:1
args: ["--port=8080"]
resources: {cpu: 20m, memory: 32Mi}
restart: {policy: always, backoffInitial: 100ms, backoffMax: 1s}
`
)

// TestAgentAtDepth is issue 5's acceptance against one dev cluster: health
// checks of each kind, backoff, restart: never, OOM kills, registry pulls,
// resources in cgroups, logs, exec, strays, and adoption after kill -9.
func TestAgentAtDepth(t *testing.T) {
	d := startDevCluster(t)
	d.loadHello()
	rec := d.recordReplicas()
	pulledRef := serveHelloFromRegistry(t)

	d.apply(helloYAML)
	d.apply(healthYAML("hc-http", "http: {path: /healthz, port: 8080}", "300ms", "250ms"))
	d.apply(healthYAML("hc-tcp", "tcp: {port: 8080}", "300ms", "250ms"))
	d.apply(healthYAML("hc-exec", `exec: {command: ["/hello", "get", "http://127.0.0.1:8080/healthz"]}`, "1s", "1s"))
	d.apply(crashLoopYAML)
	d.apply(oomYAML)
	d.apply(fmt.Sprintf("kind: Service\nname: pulled\nimage: %s\nargs: [\"--port=8080\"]\nresources: {cpu: 10m, memory: 16Mi}\n", pulledRef))
	hello := d.running("hello", 3)

	t.Run("health checks mark unhealthy, restart, and heal", func(t *testing.T) { healthChecksHeal(t, d, rec) })
	t.Run("a crash loop backs off, capped at backoffMax", func(t *testing.T) { crashLoopBacksOff(t, d, rec) })
	t.Run("restart: never leaves it failed with its exit code", func(t *testing.T) { restartNeverStaysFailed(t, d, rec) })
	t.Run("an OOM kill is named", func(t *testing.T) { oomKillIsNamed(t, d, rec) })
	t.Run("an image from a registry on loopback is pulled and run", func(t *testing.T) { pulledImageRuns(t, d) })
	t.Run("resources are enforced in cgroups and add up on the node", func(t *testing.T) { resourcesEnforced(t, d, hello) })
	t.Run("logs: --tail is exact, -f follows, service/NAME interleaves", func(t *testing.T) { logsTailFollowInterleave(t, d, hello) })
	t.Run("exec returns output and exit code", func(t *testing.T) { execReturnsOutputAndCode(t, d, hello) })
	t.Run("a container started by hand is removed, snapshot too", func(t *testing.T) { strayContainerRemoved(t, d) })
	t.Run("kill -9 of the agent: same PIDs, restarts kept, the same log file", func(t *testing.T) { agentKill9Adopts(t, d, hello) })
}

// healthChecksHeal breaks each kind of health check in turn and checks
// the replica turns unhealthy in time, with the check named, and is
// restarted healthy.
func healthChecksHeal(t *testing.T, d *devCluster, rec *replicaRecorder) {
	cases := []struct {
		svc               string
		interval, timeout time.Duration
		message           string
		// breakIt makes the replica fail its check; mend undoes what
		// outlives a restart.
		breakIt func(t *testing.T, r *orchpb.Replica)
		mend    func(t *testing.T, r *orchpb.Replica)
	}{
		{"hc-http", 300 * time.Millisecond, 250 * time.Millisecond, "health check failed: GET /healthz: 500", failHealth, nil},
		{"hc-exec", time.Second, time.Second, "health check failed: exec /hello: exited 1", failHealth, nil},
		{"hc-tcp", 300 * time.Millisecond, 250 * time.Millisecond, "health check failed: tcp connect to port 8080: connection refused",
			func(t *testing.T, r *orchpb.Replica) { d.iptablesInReplica(t, r, "-I") },
			func(t *testing.T, r *orchpb.Replica) { d.iptablesInReplica(t, r, "-D") }},
	}
	for _, c := range cases {
		t.Run(c.svc, func(t *testing.T) {
			r := d.running(c.svc, 1)[0]
			// Running means healthy: it was starting until a check passed.
			if _, ok := rec.first(r.GetId(), time.Time{}, func(x *orchpb.Replica) bool {
				return x.Observed() == orchpb.ReplicaStarting && x.GetMessage() == "waiting for the first health check"
			}); !ok {
				t.Errorf("%s was never seen waiting for its first health check:\n%s", r.DisplayName(), rec.describe(r.GetId()))
			}
			broken := time.Now()
			c.breakIt(t, r)
			bad := rec.await(c.svc+" unhealthy", r.GetId(), broken, func(x *orchpb.Replica) bool { return x.Observed() == orchpb.ReplicaUnhealthy })
			if c.mend != nil {
				c.mend(t, r)
			}
			if !strings.HasPrefix(bad.rep.GetMessage(), c.message) {
				t.Errorf("message %q, want it to start %q", bad.rep.GetMessage(), c.message)
			}
			// retries=2: two failed probes, one interval apart at least;
			// at most the retries' intervals plus a timeout, and slack.
			took := bad.at.Sub(broken)
			if least, most := c.interval, 2*c.interval+c.timeout+5*time.Second; took < least || took > most {
				t.Errorf("unhealthy %v after the check started failing, want between %v and %v", took, least, most)
			}
			rec.await(c.svc+" restarted and healthy", r.GetId(), bad.at, func(x *orchpb.Replica) bool {
				return x.Observed() == orchpb.ReplicaRunning && x.GetRestarts() == r.GetRestarts()+1
			})
		})
	}
}

// crashLoopBacksOff checks from the recorded history that the restarts
// of a crash loop wait at least the doubling backoff, never more than
// backoffMax, and reach it.
func crashLoopBacksOff(t *testing.T, d *devCluster, rec *replicaRecorder) {
	r := d.replicaOf("crashloop")
	rec.await("five restarts", r.GetId(), time.Time{}, func(x *orchpb.Replica) bool { return x.GetRestarts() >= 5 })
	d.deleteService("crashloop")
	// Distinct start times in order. A start whose report was
	// coalesced away only makes a later gap longer, and the delays
	// never shrink, so gap j is still at least delay j.
	var starts []int64
	var delays []time.Duration
	delayRE := regexp.MustCompile(`^exited 2; restarting in (\S+)$`)
	for _, o := range rec.history(r.GetId()) {
		if at := o.rep.GetStartedAt(); at != 0 && (len(starts) == 0 || starts[len(starts)-1] != at) {
			starts = append(starts, at)
		}
		if m := delayRE.FindStringSubmatch(o.rep.GetMessage()); m != nil {
			dl, _ := time.ParseDuration(m[1])
			if len(delays) == 0 || delays[len(delays)-1] != dl {
				delays = append(delays, dl)
			}
		}
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	if len(starts) < 4 {
		t.Errorf("only %d distinct starts seen:\n%s", len(starts), rec.describe(r.GetId()))
	}
	for j := 0; j+1 < len(starts); j++ {
		least := want[min(j, len(want)-1)]
		if gap := time.Duration(starts[j+1]-starts[j]) * time.Millisecond; gap < least {
			t.Errorf("start %d came %v after start %d, want at least the backoff %v", j+1, gap, j, least)
		}
	}
	if len(delays) == 0 {
		t.Fatalf("no 'restarting in' message seen:\n%s", rec.describe(r.GetId()))
	}
	for _, dl := range delays {
		if dl > 800*time.Millisecond {
			t.Errorf("a delay of %v exceeds backoffMax 800ms (delays %v)", dl, delays)
		}
	}
	if delays[len(delays)-1] != 800*time.Millisecond {
		t.Errorf("delays %v never reached backoffMax 800ms", delays)
	}
}

// restartNeverStaysFailed runs a service with restart: never and checks
// its replica ends failed with the exit code and no restart.
func restartNeverStaysFailed(t *testing.T, d *devCluster, rec *replicaRecorder) {
	d.apply(onceYAML)
	o := rec.awaitAny("a replica of once failed", func(x *orchpb.Replica) bool {
		return x.GetService() == "once" && x.Observed() == orchpb.ReplicaFailed
	})
	d.deleteService("once")
	if o.rep.GetExitCode() != 2 || o.rep.GetMessage() != "exited 2" || o.rep.GetRestarts() != 0 {
		t.Errorf("failed replica: exitCode %d message %q restarts %d, want 2, \"exited 2\", 0", o.rep.GetExitCode(), o.rep.GetMessage(), o.rep.GetRestarts())
	}
}

// oomKillIsNamed makes a replica allocate past its limit and checks the
// kill is reported as OOM, with 137, and restarted.
func oomKillIsNamed(t *testing.T, d *devCluster, rec *replicaRecorder) {
	r := d.running("oom", 1)[0]
	since := time.Now()
	oomed := func(x *orchpb.Replica) bool { return strings.HasPrefix(x.GetMessage(), "OOM killed") }
	// The request dies with the process; ask again if it did not get
	// through (the server not listening yet, say).
	for i := 0; i < 5; i++ {
		_, err := httpGet("http://" + r.GetIp() + ":8080/alloc?mb=64")
		t.Logf("alloc request %d: %v", i+1, err)
		if waitFor(2*time.Second, func() bool { _, ok := rec.first(r.GetId(), since, oomed); return ok }) {
			break
		}
	}
	o := rec.await("OOM killed", r.GetId(), since, oomed)
	if o.rep.GetExitCode() != 137 {
		t.Errorf("exitCode %d after an OOM kill, want 137", o.rep.GetExitCode())
	}
	rec.await("oom restarted", r.GetId(), o.at, func(x *orchpb.Replica) bool {
		return x.Observed() == orchpb.ReplicaRunning && x.GetRestarts() == r.GetRestarts()+1
	})
}

// pulledImageRuns checks the replica of the image pulled from the
// loopback registry serves.
func pulledImageRuns(t *testing.T, d *devCluster) {
	r := d.running("pulled", 1)[0]
	if body, err := httpGet("http://" + r.GetIp() + ":8080/"); err != nil || !strings.Contains(body, "hostname: pulled.1") {
		t.Errorf("pulled.1 answered %q, %v", body, err)
	}
}

// resourcesEnforced checks the node's allocation is the sum of its
// replicas' requests and, on a cgroup v1 host, that the limits are set.
func resourcesEnforced(t *testing.T, d *devCluster, hello []*orchpb.Replica) {
	ctx := context.Background()
	// First what holds on any host: a cgroup v2 host skips the rest.
	d.eventually("node allocated = sum of its replicas' requests", func() error {
		reps, _, err := d.api.ListReplicas(ctx, client.ReplicaFilter{})
		if err != nil {
			return err
		}
		nodes, _, err := d.api.ListNodes(ctx)
		if err != nil {
			return err
		}
		var cpu, mem int64
		for _, x := range reps {
			if x.GetNode() == nodes[0].GetId() && x.Desired() == orchpb.DesiredRunning && !x.Terminal() {
				cpu += x.GetResources().GetCpuMillis()
				mem += x.GetResources().GetMemoryBytes()
			}
		}
		got := nodes[0].GetAllocated()
		if got.GetCpuMillis() != cpu || got.GetMemoryBytes() != mem || cpu == 0 {
			return fmt.Errorf("allocated %v, replicas request cpu %dm memory %d", got, cpu, mem)
		}
		return nil
	})
	r := hello[0]
	for file, want := range map[string]string{
		"memory/orch/" + r.GetId() + "/memory.limit_in_bytes": strconv.Itoa(32 << 20),
		"cpu/orch/" + r.GetId() + "/cpu.cfs_quota_us":         "10000",
		"cpu/orch/" + r.GetId() + "/cpu.shares":               "102",
	} {
		b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", file))
		if os.IsNotExist(err) {
			t.Skipf("no cgroup v1 file %s (cgroup v2 host?)", file)
		}
		if err != nil || strings.TrimSpace(string(b)) != want {
			t.Errorf("%s = %q (%v), want %s", file, strings.TrimSpace(string(b)), err, want)
		}
	}
}

// logsTailFollowInterleave checks orchctl logs: --tail prints the log
// file's last lines, -f follows new ones only, service/NAME prefixes each
// replica's lines.
func logsTailFollowInterleave(t *testing.T, d *devCluster, hello []*orchpb.Replica) {
	r := hello[0]
	for i := range 20 {
		if _, err := httpGet(fmt.Sprintf("http://%s:8080/?n=%d", r.GetIp(), i)); err != nil {
			t.Fatal(err)
		}
	}
	out, _, code := d.orchctl(t, "logs", r.DisplayName(), "--tail", "5")
	file, err := os.ReadFile(d.logFile(r))
	if err != nil || code != 0 {
		t.Fatalf("logs --tail 5: exit %d; log file: %v", code, err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(file), "\n"), "\n")
	if want := strings.Join(lines[len(lines)-5:], "") + "\n"; out != want || !strings.Contains(out, "path=\"/?n=19\"") && !strings.Contains(out, "path=/?n=19") {
		t.Errorf("logs --tail 5 =\n%s\nwant exactly the file's last 5 lines:\n%s", out, want)
	}

	follow := d.orchctlStart(t, "logs", r.DisplayName(), "-f", "--tail", "0")
	time.Sleep(500 * time.Millisecond)
	marker := fmt.Sprintf("marker-%d", time.Now().UnixNano())
	if _, err := httpGet("http://" + r.GetIp() + ":8080/?" + marker); err != nil {
		t.Fatal(err)
	}
	follow.await(t, marker)
	// "?n=": every request line ends in duration=…, which may itself read
	// "n=19µs".
	if out := follow.output(); strings.Contains(out, "?n=") {
		t.Errorf("logs -f --tail 0 printed old lines:\n%s", out)
	}

	out, _, code = d.orchctl(t, "logs", "service/hello", "--tail", "1")
	for _, x := range hello {
		if code != 0 || !strings.Contains(out, "["+x.DisplayName()+"] ") {
			t.Errorf("logs service/hello (exit %d) lacks lines of %s:\n%s", code, x.DisplayName(), out)
		}
	}
}

// execReturnsOutputAndCode runs commands in a replica through orchctl
// exec and checks their output and exit codes, and a missing replica.
func execReturnsOutputAndCode(t *testing.T, d *devCluster, hello []*orchpb.Replica) {
	name := hello[0].DisplayName()
	out, errOut, code := d.orchctl(t, "exec", name, "--", "/hello", "version")
	if code != 0 || !strings.HasPrefix(out, "hello ") {
		t.Errorf("exec /hello version: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, _, code = d.orchctl(t, "exec", name, "--", "/hello", "get", "http://127.0.0.1:8080/healthz")
	if code != 0 || out != "ok\n" {
		t.Errorf("exec /hello get healthz: exit %d, stdout %q", code, out)
	}
	if _, _, code = d.orchctl(t, "exec", name, "--", "/hello", "get", "http://127.0.0.1:1/"); code != 1 {
		t.Errorf("exec of a failing command: exit %d, want its 1", code)
	}
	if _, errOut, code = d.orchctl(t, "exec", "nosuch.1", "--", "/hello"); code == 0 || !strings.Contains(errOut, "not found") {
		t.Errorf("exec in a missing replica: exit %d, stderr %q", code, errOut)
	}
}

// strayContainerRemoved starts a container in the agent's namespace by
// hand and waits for the agent to remove it and its snapshot.
func strayContainerRemoved(t *testing.T, d *devCluster) {
	ctx := context.Background()
	rt, err := runtime.NewContainerd(ctx, d.ctrd.Socket(), runtime.WithNamespace(containerdNS))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	// The agent may sweep a stray between its task's creation and its
	// start ("cannot start a container that has stopped"): that one is
	// removed too, but the test wants one seen running, so it tries again
	// under another id.
	var strays []string
	started := false
	for i := 1; i <= 3 && !started; i++ {
		id := fmt.Sprintf("stray%d", i)
		if err := rt.Create(ctx, runtime.ContainerConfig{ID: id, Image: "orch.local/hello:1"}); err != nil {
			t.Fatal(err)
		}
		strays = append(strays, id)
		_, err := rt.Start(ctx, id)
		if err != nil {
			t.Logf("start container %s: %v (swept before it started?)", id, err)
		}
		started = err == nil
	}
	if !started {
		t.Fatalf("no stray container started in %d tries", len(strays))
	}
	d.eventually("the strays are gone with their snapshots", func() error {
		tasks := d.tasks()
		for _, id := range strays {
			if _, ok := tasks[id]; ok {
				return fmt.Errorf("container %s still exists", id)
			}
			if d.hasSnapshot(id) {
				return fmt.Errorf("snapshot %s still exists", id)
			}
		}
		return nil
	})
}

// agentKill9Adopts kills orchd with SIGKILL and starts it again: the
// same tasks run with their restart counts, a checked replica stays
// running, and the log file goes on, with what was written meanwhile.
func agentKill9Adopts(t *testing.T, d *devCluster, hello []*orchpb.Replica) {
	ctx := context.Background()
	r := hello[0]
	before := d.tasks()
	restarts := map[string]int32{}
	for _, x := range d.running("hello", 3) {
		restarts[x.GetId()] = x.GetRestarts()
	}
	path := d.logFile(r)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	checked := d.running("hc-http", 1)[0]
	d.kill9()
	// Output keeps flowing while no agent runs: the shim writes it.
	marker := fmt.Sprintf("while-down-%d", time.Now().UnixNano())
	if _, err := httpGet("http://" + r.GetIp() + ":8080/?" + marker); err != nil {
		t.Errorf("hello.1 while orchd is down: %v", err)
	}
	d.start()
	for _, x := range d.running("hello", 3) {
		if x.GetRestarts() != restarts[x.GetId()] {
			t.Errorf("%s: restarts %d after the restart of orchd, was %d", x.DisplayName(), x.GetRestarts(), restarts[x.GetId()])
		}
	}
	// A healthy replica adopted with its check stays running, as it was.
	if got, err := d.api.GetReplica(ctx, checked.GetId(), ""); err != nil || got.Observed() != orchpb.ReplicaRunning || got.GetRestarts() != checked.GetRestarts() {
		t.Errorf("hc-http after the restart: %v (%v), want running with restarts %d", got, err, checked.GetRestarts())
	}
	after := d.tasks()
	for id, pid := range before {
		if after[id] != pid {
			t.Errorf("container %s: task pid %d before, %d after", id, pid, after[id])
		}
	}
	if _, err := httpGet("http://" + r.GetIp() + ":8080/?after-restart"); err != nil {
		t.Fatal(err)
	}
	d.eventually("the log file goes on", func() error {
		now, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(now, old) || !bytes.Contains(now, []byte(marker)) || !bytes.Contains(now, []byte("after-restart")) {
			return fmt.Errorf("log file does not continue the old one with both new requests")
		}
		return nil
	})
	if again, err := os.Stat(path); err != nil || !os.SameFile(info, again) {
		t.Errorf("the log file was replaced (%v)", err)
	}
	out, _, _ := d.orchctl(t, "logs", r.DisplayName(), "--tail", "3")
	if !strings.Contains(out, marker) {
		t.Errorf("logs after the restart lack the line written while orchd was down:\n%s", out)
	}
}

func failHealth(t *testing.T, r *orchpb.Replica) {
	t.Helper()
	if _, err := httpGet("http://" + r.GetIp() + ":8080/fail-health"); err != nil {
		t.Fatal(err)
	}
}

// iptablesInReplica inserts (-I) or deletes (-D) a rule refusing TCP to port
// 8080 inside the replica's network namespace, which the test's cluster
// made (and removes).
func (d *devCluster) iptablesInReplica(t *testing.T, r *orchpb.Replica, op string) {
	t.Helper()
	ctx := namespaces.WithNamespace(context.Background(), containerdNS)
	ctr, err := d.ctr.LoadContainer(ctx, r.GetId())
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ctr.Spec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	netns := ""
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			netns = ns.Path
		}
	}
	if netns == "" {
		t.Fatal("the replica has no network namespace path")
	}
	out, err := exec.Command("nsenter", "--net="+netns, "iptables", op, "INPUT", "-p", "tcp", "--dport", "8080", "-j", "REJECT", "--reject-with", "tcp-reset").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables %s in %s: %v\n%s", op, netns, err, out)
	}
}

// replicaOf waits for the service's one replica to exist and returns it.
func (d *devCluster) replicaOf(service string) *orchpb.Replica {
	d.t.Helper()
	var r *orchpb.Replica
	d.eventually("a replica of "+service, func() error {
		reps, _, err := d.api.ListReplicas(context.Background(), client.ReplicaFilter{Namespace: "default", Service: service})
		if err != nil {
			return err
		}
		if len(reps) == 0 {
			return fmt.Errorf("none yet")
		}
		r = reps[0]
		return nil
	})
	return r
}

func (d *devCluster) deleteService(name string) {
	d.t.Helper()
	if _, err := d.api.DeleteService(context.Background(), "default", name); err != nil {
		d.t.Fatal(err)
	}
}

func (d *devCluster) logFile(r *orchpb.Replica) string {
	return filepath.Join(d.dataDir, "agent", "logs", r.GetId()+".log")
}

func (d *devCluster) hasSnapshot(key string) bool {
	d.t.Helper()
	ctx := namespaces.WithNamespace(context.Background(), containerdNS)
	found := false
	err := d.ctr.SnapshotService("overlayfs").Walk(ctx, func(ctx context.Context, info snapshots.Info) error {
		if info.Name == key {
			found = true
		}
		return nil
	})
	if err != nil {
		d.t.Fatal(err)
	}
	return found
}

// awaitAny waits for an observation of any replica that matches.
func (r *replicaRecorder) awaitAny(what string, match func(*orchpb.Replica) bool) observation {
	r.t.Helper()
	deadline := time.Now().Add(defaultTimeout)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, obs := range r.seen {
			for _, o := range obs {
				if match(o.rep) {
					r.mu.Unlock()
					return o
				}
			}
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("timed out waiting for %s", what)
	return observation{}
}

// serveHelloFromRegistry pushes the sample image to an in-process registry
// on 127.0.0.1 and returns its reference there.
func serveHelloFromRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	tag, err := name.NewTag("orch.local/hello:1")
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(helloTar, &tag)
	if err != nil {
		t.Fatal(err)
	}
	ref := u.Host + "/pulled/hello:1"
	dst, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dst, img); err != nil {
		t.Fatalf("push to the test registry: %v", err)
	}
	return ref
}

// The orchctl binary, built once, for what users type.
var (
	orchctlOnce sync.Once
	orchctlBin  string
	orchctlErr  error
)

func (d *devCluster) orchctlCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	orchctlOnce.Do(func() {
		orchctlBin = filepath.Join(filepath.Dir(orchdBin), "orchctl")
		if out, err := exec.Command("go", "build", "-o", orchctlBin, "../cmd/orchctl").CombinedOutput(); err != nil {
			orchctlErr = fmt.Errorf("build orchctl: %v\n%s", err, out)
		}
	})
	if orchctlErr != nil {
		t.Fatal(orchctlErr)
	}
	cmd := exec.Command(orchctlBin, append([]string{"--config", d.adminConf()}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+d.dataDir)
	return cmd
}

// orchctl runs orchctl to the end: stdout, stderr, exit code.
func (d *devCluster) orchctl(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := d.orchctlCmd(t, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// running orchctl, for -f.
type bgCommand struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	out strings.Builder
}

func (d *devCluster) orchctlStart(t *testing.T, args ...string) *bgCommand {
	t.Helper()
	b := &bgCommand{cmd: d.orchctlCmd(t, args...)}
	pipe, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			b.mu.Lock()
			b.out.WriteString(sc.Text() + "\n")
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
		_ = b.cmd.Wait()
	})
	return b
}

func (b *bgCommand) output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.out.String()
}

func (b *bgCommand) await(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(defaultTimeout)
	for !strings.Contains(b.output(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%v: output lacks %q after %v:\n%s", b.cmd.Args, want, defaultTimeout, b.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}
