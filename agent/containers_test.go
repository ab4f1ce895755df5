package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/agent/runtime"
	orchpb "github.com/orch-io/orch/proto"
)

// podAssignment is a replica with two init containers and a sidecar, no
// health check.
func podAssignment(id, policy string) *orchpb.Assignment {
	asg := assignment(id, policy, 0)
	asg.Spec.Health = nil
	asg.Spec.Init = []*orchpb.ReplicaContainerSpec{{Name: "migrate", Image: "x:1"}, {Name: "seed", Image: "x:1"}}
	asg.Spec.Sidecars = []*orchpb.ReplicaContainerSpec{{Name: "proxy", Image: "x:1"}}
	return asg
}

// awaitStarts polls until id has been started n times.
func awaitStarts(t *testing.T, rt *fakeRuntime, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if starts, _ := rt.counts(id); starts >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for start %d of %s", n, id)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func containerState(st *orchpb.ReplicaStatus, name string) *orchpb.ContainerStatus {
	for _, c := range st.GetContainers() {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}

func TestInitContainersRunInOrderBeforeMainAndSidecars(t *testing.T) {
	rt := newFakeRuntime()
	w := runWorker(t, testEnv(t, rt), podAssignment("r1", orchpb.RestartAlways))
	migrate, seed, proxy := extraContainerID("r1", "migrate"), extraContainerID("r1", "seed"), extraContainerID("r1", "proxy")

	awaitStarts(t, rt, migrate, 1)
	await(t, w, "migrate running", func(st *orchpb.ReplicaStatus) bool {
		return strings.Contains(st.Message, "init container migrate (1 of 2)") && containerState(st, "migrate").GetState() == "running"
	})
	for _, id := range []string{seed, "r1", proxy} {
		if starts, _ := rt.counts(id); starts != 0 {
			t.Fatalf("%s started while the first init container ran", id)
		}
	}
	// A failing init container keeps the replica from starting and is
	// named, with its exit code, in the replica's message; it runs again.
	rt.exitNow(migrate, runtime.ExitStatus{Code: 3})
	await(t, w, "init failure in the message", func(st *orchpb.ReplicaStatus) bool {
		return st.State == "starting" && strings.HasPrefix(st.Message, "init failed: migrate exited 3")
	})
	awaitStarts(t, rt, migrate, 2)
	rt.exitNow(migrate, runtime.ExitStatus{Code: 0})
	awaitStarts(t, rt, seed, 1)
	if starts, _ := rt.counts("r1"); starts != 0 {
		t.Fatal("the main container started before the second init container")
	}
	rt.exitNow(seed, runtime.ExitStatus{Code: 0})
	st := await(t, w, "running", func(st *orchpb.ReplicaStatus) bool { return st.State == "running" })
	if c := containerState(st, "migrate"); c.GetState() != "completed" || c.GetRestarts() != 1 {
		t.Errorf("migrate = %v, want completed after one restart", c)
	}
	awaitStarts(t, rt, proxy, 1)
	await(t, w, "sidecar running", func(st *orchpb.ReplicaStatus) bool { return containerState(st, "proxy").GetState() == "running" })
	if w.initDone() != 2 {
		t.Errorf("saved init progress %d, want 2", w.initDone())
	}
}

func TestSidecarCrashRestartsOnlyTheSidecar(t *testing.T) {
	rt := newFakeRuntime()
	asg := podAssignment("r2", orchpb.RestartAlways)
	asg.Spec.Init = nil
	w := runWorker(t, testEnv(t, rt), asg)
	proxy := extraContainerID("r2", "proxy")
	awaitStarts(t, rt, proxy, 1)
	awaitStarts(t, rt, "r2", 1)
	await(t, w, "sidecar running", func(st *orchpb.ReplicaStatus) bool { return containerState(st, "proxy").GetState() == "running" })

	rt.exitNow(proxy, runtime.ExitStatus{Code: 2})
	await(t, w, "sidecar restarted", func(st *orchpb.ReplicaStatus) bool {
		c := containerState(st, "proxy")
		return c.GetRestarts() == 1 && c.GetState() == "running" && c.GetExitCode() == 2
	})
	if starts, stops := rt.counts("r2"); starts != 1 || stops != 0 {
		t.Errorf("main container: %d starts and %d stops, want 1 and 0", starts, stops)
	}
	if st := w.status(); st.Restarts != 0 || st.State != "running" {
		t.Errorf("replica %v, want running with no restart", st)
	}
}

func TestRemovingAReplicaRemovesEveryContainer(t *testing.T) {
	rt := newFakeRuntime()
	asg := podAssignment("r3", orchpb.RestartAlways)
	asg.Spec.Init = nil
	w := runWorker(t, testEnv(t, rt), asg)
	proxy := extraContainerID("r3", "proxy")
	awaitStarts(t, rt, proxy, 1)
	awaitStarts(t, rt, "r3", 1)
	w.requestStop()
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatal("worker did not finish")
	}
	for _, id := range []string{"r3", proxy} {
		if _, stops := rt.counts(id); stops == 0 {
			t.Errorf("%s was not stopped", id)
		}
	}
}

func TestContainerIDResolvesNames(t *testing.T) {
	asg := podAssignment("r4", orchpb.RestartAlways)
	for name, want := range map[string]string{"": "r4", "web": "r4", "proxy": "r4.proxy", "migrate": "r4.migrate"} {
		if got, ok := containerID(asg, name); !ok || got != want {
			t.Errorf("containerID(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if _, ok := containerID(asg, "nope"); ok {
		t.Error("an unknown name resolved")
	}
}

func TestAdoptedSidecarKeepsRunning(t *testing.T) {
	rt := newFakeRuntime()
	asg := podAssignment("r5", orchpb.RestartAlways)
	env := testEnv(t, rt)
	proxy := extraContainerID("r5", "proxy")
	// What an earlier agent process left: init done, main and sidecar
	// running (the fake's tasks "run" once started).
	for _, id := range []string{"r5", proxy} {
		if _, err := rt.Start(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	w := newReplicaWorker(env, asg, &containerRef{taskStatus: "running", pid: 101},
		map[string]*containerRef{"proxy": {taskStatus: "running", pid: 102}})
	rec := env.report.(*recordingReporter)
	rec.mu.Lock()
	rec.of = w.status
	rec.mu.Unlock()
	ctx, cancel := context.WithCancel(t.Context())
	go w.run(ctx)
	t.Cleanup(func() { cancel(); <-w.done })
	await(t, w, "running with the sidecar", func(st *orchpb.ReplicaStatus) bool {
		return st.State == "running" && containerState(st, "proxy").GetState() == "running" &&
			containerState(st, "migrate").GetState() == "completed"
	})
	for _, id := range []string{"r5", proxy, extraContainerID("r5", "migrate")} {
		want := 0
		if id != extraContainerID("r5", "migrate") {
			want = 1 // the test's own start
		}
		if starts, _ := rt.counts(id); starts != want {
			t.Errorf("%s started %d times, want %d", id, starts, want)
		}
	}
}
