package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/orch-io/orch/agent/logs"
	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/netoverlay"
	orchpb "github.com/orch-io/orch/proto"
)

// fakeRuntime runs no processes: a started task "runs" until Stop or
// exitNow ends it. Embedding the interface keeps it compiling when the
// interface grows; a call to anything not below panics.
type fakeRuntime struct {
	runtime.Runtime

	mu      sync.Mutex
	exits   map[string]chan runtime.ExitStatus
	starts  map[string]int
	stopped map[string]int
}

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{exits: map[string]chan runtime.ExitStatus{}, starts: map[string]int{}, stopped: map[string]int{}}
}

func (f *fakeRuntime) EnsureImage(context.Context, string) error             { return nil }
func (f *fakeRuntime) Create(context.Context, runtime.ContainerConfig) error { return nil }
func (f *fakeRuntime) Delete(context.Context, string) error                  { return nil }

func (f *fakeRuntime) Start(_ context.Context, id string) (uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts[id]++
	f.exits[id] = make(chan runtime.ExitStatus, 1)
	return uint32(100 + f.starts[id]), nil
}

func (f *fakeRuntime) Wait(_ context.Context, id string) (<-chan runtime.ExitStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exits[id], nil
}

func (f *fakeRuntime) exitNow(id string, s runtime.ExitStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case f.exits[id] <- s:
	default:
	}
}

func (f *fakeRuntime) Stop(_ context.Context, id string, _ time.Duration) error {
	f.mu.Lock()
	f.stopped[id]++
	f.mu.Unlock()
	f.exitNow(id, runtime.ExitStatus{Code: 0, ExitedAt: time.Now()})
	return nil
}

func (f *fakeRuntime) counts(id string) (starts, stops int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts[id], f.stopped[id]
}

// fakeNet gives every replica 127.0.0.1, where the test's health server
// listens.
type fakeNet struct{}

func (fakeNet) Setup(context.Context, string) (netoverlay.Attachment, error) {
	return netoverlay.Attachment{IP: netip.MustParseAddr("127.0.0.1")}, nil
}
func (fakeNet) Teardown(context.Context, string) error { return nil }

// recordingReporter keeps every status its worker announced, in order,
// so that a test sees short-lived states too (unhealthy just before the
// restart), however slowly it looks; it counts changes and flushes.
type recordingReporter struct {
	mu sync.Mutex
	// of is the worker whose statuses are kept (nil: only count).
	of      func() *orchpb.ReplicaStatus
	seen    []*orchpb.ReplicaStatus
	next    int // the first status await has not looked at
	changes int
	flushes int
}

// changed runs on the worker's goroutine right after each update, so
// of() is the status that update made.
func (r *recordingReporter) changed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes++
	if r.of != nil {
		r.seen = append(r.seen, r.of())
	}
}

func (r *recordingReporter) flush(context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushes++
}

func (r *recordingReporter) counts() (changes, flushes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changes, r.flushes
}

// testEnv is a worker's node: rt, fakeNet, files in a temporary dir and
// no DNS.
func testEnv(t *testing.T, rt runtime.Runtime) *workerEnv {
	t.Helper()
	dir := t.TempDir()
	return &workerEnv{
		runtime: rt,
		network: fakeNet{},
		files:   replicaFiles{dir: dataDir(dir), logs: logs.New(dir + "/logs")},
		report:  &recordingReporter{},
		log:     slog.New(slog.DiscardHandler),
		now:     time.Now,
	}
}

// healthServer answers /healthz with 200 until failing is set.
func healthServer(t *testing.T) (port int32, failing *atomic.Bool) {
	t.Helper()
	failing = &atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	_, p, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	n, _ := strconv.Atoi(p)
	return int32(n), failing
}

func assignment(id, policy string, healthPort int32) *orchpb.Assignment {
	return &orchpb.Assignment{
		Replica: &orchpb.Replica{Id: id, Service: "web", Slot: 1, Namespace: "default", DesiredState: string(orchpb.DesiredRunning)},
		Spec: &orchpb.ServiceSpec{
			Name: "web", Image: "orch.local/hello:1",
			Health: &orchpb.HealthCheck{
				Http: &orchpb.HTTPCheck{Path: "/healthz", Port: healthPort},
				// Timeouts as long as the interval allows: a loaded
				// machine must not fail a check the test meant to pass.
				Interval: durationpb.New(250 * time.Millisecond), Timeout: durationpb.New(250 * time.Millisecond), Retries: 2,
			},
			Restart:         &orchpb.RestartPolicy{Policy: policy, BackoffInitial: durationpb.New(10 * time.Millisecond), BackoffMax: durationpb.New(40 * time.Millisecond)},
			StopGracePeriod: durationpb.New(time.Second),
		},
	}
}

// await waits until the worker announces a status that satisfies cond,
// later than the one the last await returned, and returns it.
func await(t *testing.T, w *replicaWorker, what string, cond func(*orchpb.ReplicaStatus) bool) *orchpb.ReplicaStatus {
	t.Helper()
	rec := w.env.report.(*recordingReporter)
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec.mu.Lock()
		for ; rec.next < len(rec.seen); rec.next++ {
			if st := rec.seen[rec.next]; cond(st) {
				rec.next++
				rec.mu.Unlock()
				return st
			}
		}
		rec.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; status %v", what, w.status())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// awaitSavedHealthy polls the replica's saved state, what an agent
// restarted now would adopt, until its health verdict is want.
func awaitSavedHealthy(t *testing.T, w *replicaWorker, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var saved workerState
		data, err := os.ReadFile(w.env.files.statePath(w.id))
		if err == nil && json.Unmarshal(data, &saved) == nil && saved.Healthy == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("saved state %s (%v), want healthy=%v", data, err, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func runWorker(t *testing.T, env *workerEnv, asg *orchpb.Assignment) *replicaWorker {
	t.Helper()
	return runAdopting(t, env, asg, nil)
}

// runAdopting runs a worker that starts from the container adopted shows
// (nil: none), as after an agent restart.
func runAdopting(t *testing.T, env *workerEnv, asg *orchpb.Assignment, adopted *containerRef) *replicaWorker {
	t.Helper()
	w := newReplicaWorker(env, asg, adopted, nil)
	rec := env.report.(*recordingReporter)
	rec.mu.Lock()
	rec.of = w.status
	rec.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	go w.run(ctx)
	t.Cleanup(func() { cancel(); <-w.done })
	return w
}

func TestWorkerHealthCheckGatesRunningAndRestartsUnhealthy(t *testing.T) {
	rt := newFakeRuntime()
	env := testEnv(t, rt)
	port, failing := healthServer(t)
	failing.Store(true)
	asg := assignment("r1", orchpb.RestartAlways, port)
	// Failures before the first success do not count, so the replica
	// stays starting however slowly this test looks.
	asg.Spec.Health.StartPeriod = durationpb.New(time.Hour)
	w := runWorker(t, env, asg)

	// Not running (healthy) before a check has passed.
	st := await(t, w, "starting", func(s *orchpb.ReplicaStatus) bool { return s.Observed() == orchpb.ReplicaStarting && s.StartedAt != 0 })
	if st.Message != "waiting for the first health check" {
		t.Errorf("message while starting: %q", st.Message)
	}
	failing.Store(false)
	await(t, w, "running once healthy", func(s *orchpb.ReplicaStatus) bool { return s.Observed() == orchpb.ReplicaRunning })
	awaitSavedHealthy(t, w, true)

	failing.Store(true)
	st = await(t, w, "unhealthy", func(s *orchpb.ReplicaStatus) bool { return s.Observed() == orchpb.ReplicaUnhealthy })
	if st.Message != "health check failed: GET /healthz: 500" {
		t.Errorf("unhealthy message %q", st.Message)
	}
	failing.Store(false)
	// On a loaded machine the restarted container may fail a check or two
	// more before the test heals the server, so it may restart more than
	// once; what must hold is that every restart was a stop and a start.
	st = await(t, w, "restarted and healthy", func(s *orchpb.ReplicaStatus) bool {
		return s.Observed() == orchpb.ReplicaRunning && s.Restarts >= 1
	})
	if st.Message != "" {
		t.Errorf("message %q once healthy again", st.Message)
	}
	// The unhealthy state was flushed to the masters before the restart
	// left it.
	if _, flushes := env.report.(*recordingReporter).counts(); flushes == 0 {
		t.Error("the unhealthy state was not flushed")
	}
	if starts, stops := rt.counts("r1"); starts != int(st.Restarts)+1 || stops != int(st.Restarts) {
		t.Errorf("runtime saw %d starts and %d stops for %d restarts, want %d and %d", starts, stops, st.Restarts, st.Restarts+1, st.Restarts)
	}
}

func TestWorkerRestartPolicies(t *testing.T) {
	cases := []struct {
		policy    string
		exit      runtime.ExitStatus
		wantState string
		wantMsg   string
		restarts  bool
	}{
		{orchpb.RestartNever, runtime.ExitStatus{Code: 3}, string(orchpb.ReplicaFailed), "exited 3", false},
		{orchpb.RestartNever, runtime.ExitStatus{Code: 0}, string(orchpb.ReplicaStopped), "exited 0", false},
		{orchpb.RestartOnFailure, runtime.ExitStatus{Code: 0}, string(orchpb.ReplicaStopped), "exited 0", false},
		{orchpb.RestartOnFailure, runtime.ExitStatus{Code: 137, OOMKilled: true}, "", "OOM killed", true},
		{orchpb.RestartAlways, runtime.ExitStatus{Code: 0}, "", "exited 0", true},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%s exit %d oom %v", c.policy, c.exit.Code, c.exit.OOMKilled), func(t *testing.T) {
			rt := newFakeRuntime()
			env := testEnv(t, rt)
			asg := assignment(fmt.Sprintf("p%d", i), c.policy, 0)
			asg.Spec.Health = nil
			id := asg.Replica.Id
			w := runWorker(t, env, asg)
			await(t, w, "running", func(s *orchpb.ReplicaStatus) bool { return s.Observed() == orchpb.ReplicaRunning })
			rt.exitNow(id, c.exit)
			if c.restarts {
				st := await(t, w, "restarted", func(s *orchpb.ReplicaStatus) bool { return s.Restarts == 1 && s.Observed() == orchpb.ReplicaRunning })
				if st.ExitCode != int32(c.exit.Code) {
					t.Errorf("exitCode %d, want %d", st.ExitCode, c.exit.Code)
				}
				return
			}
			st := await(t, w, c.wantState, func(s *orchpb.ReplicaStatus) bool { return s.State == c.wantState })
			if st.Message != c.wantMsg || st.ExitCode != int32(c.exit.Code) {
				t.Errorf("message %q exitCode %d, want %q and %d", st.Message, st.ExitCode, c.wantMsg, c.exit.Code)
			}
			// Told to stop, a failed replica keeps its verdict.
			w.requestStop()
			<-w.done
			if got := w.status(); got.State != c.wantState || got.Message != c.wantMsg {
				t.Errorf("after removal: %s %q, want %s %q", got.State, got.Message, c.wantState, c.wantMsg)
			}
		})
	}
}

// TestWorkerUnhealthyWithRestartNeverFails: the check's verdict is a
// failure like any other.
func TestWorkerUnhealthyWithRestartNeverFails(t *testing.T) {
	rt := newFakeRuntime()
	env := testEnv(t, rt)
	port, failing := healthServer(t)
	w := runWorker(t, env, assignment("n1", orchpb.RestartNever, port))
	await(t, w, "running", func(s *orchpb.ReplicaStatus) bool { return s.Observed() == orchpb.ReplicaRunning })
	failing.Store(true)
	st := await(t, w, "failed", func(s *orchpb.ReplicaStatus) bool { return s.Observed() == orchpb.ReplicaFailed })
	if st.Message != "health check failed: GET /healthz: 500" {
		t.Errorf("message %q", st.Message)
	}
	awaitSavedHealthy(t, w, false)
	if starts, _ := rt.counts("n1"); starts != 1 {
		t.Errorf("%d starts, want 1", starts)
	}
}
