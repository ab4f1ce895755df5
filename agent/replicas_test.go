package agent

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/agent/runtime"
	orchpb "github.com/orch-io/orch/proto"
)

func plainAssignment(id string) *orchpb.Assignment {
	asg := assignment(id, orchpb.RestartAlways, 0)
	asg.Spec.Health = nil
	return asg
}

func setOf(asgs ...*orchpb.Assignment) *orchpb.AssignmentSet {
	return &orchpb.AssignmentSet{NodeId: "n1", Assignments: asgs}
}

// awaitStatuses polls the set's statuses until cond holds.
func awaitStatuses(t *testing.T, s *replicaSet, what string, cond func(map[string]*orchpb.ReplicaStatus, []string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		all, finished := s.statuses()
		byID := map[string]*orchpb.ReplicaStatus{}
		for _, st := range all {
			byID[st.Id] = st
		}
		if cond(byID, finished) {
			return finished
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; statuses %v, finished %v", what, all, finished)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func startReplicaSet(t *testing.T, rt runtime.Runtime, found []runtime.ContainerInfo) (*replicaSet, context.Context) {
	t.Helper()
	s := newReplicaSet(found, slog.New(slog.DiscardHandler))
	s.env = testEnv(t, rt)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); s.wait() })
	return s, ctx
}

// TestReplicaSetFollowsAssignments: a set starts its replicas, adopts a
// container left running, and stops what leaves it, keeping the stopped
// replica's status until a report has carried it.
func TestReplicaSetFollowsAssignments(t *testing.T) {
	rt := newFakeRuntime()
	s, ctx := startReplicaSet(t, rt, []runtime.ContainerInfo{{ID: "r3", TaskStatus: "running", PID: 7}})
	running := func(ids ...string) func(map[string]*orchpb.ReplicaStatus, []string) bool {
		return func(m map[string]*orchpb.ReplicaStatus, _ []string) bool {
			for _, id := range ids {
				if m[id].Observed() != orchpb.ReplicaRunning {
					return false
				}
			}
			return true
		}
	}
	s.apply(ctx, setOf(plainAssignment("r1"), plainAssignment("r2"), plainAssignment("r3")))
	awaitStatuses(t, s, "all running", running("r1", "r2", "r3"))
	if starts, _ := rt.counts("r3"); starts != 0 {
		t.Errorf("the adopted container was started %d times, want 0", starts)
	}
	if !s.runs("r2") || s.runs("r9") {
		t.Errorf("runs(r2) = %v, runs(r9) = %v", s.runs("r2"), s.runs("r9"))
	}

	s.apply(ctx, setOf(plainAssignment("r1"), plainAssignment("r3")))
	finished := awaitStatuses(t, s, "r2 stopped and finished", func(m map[string]*orchpb.ReplicaStatus, fin []string) bool {
		return m["r2"].Observed() == orchpb.ReplicaStopped && slices.Contains(fin, "r2")
	})
	if s.runs("r2") {
		t.Error("a stopped replica still runs")
	}
	if _, stops := rt.counts("r2"); stops != 1 {
		t.Errorf("r2 stopped %d times, want 1", stops)
	}
	s.reported(finished)
	awaitStatuses(t, s, "r2 forgotten once reported", func(m map[string]*orchpb.ReplicaStatus, fin []string) bool {
		return m["r2"] == nil && len(fin) == 0 && len(m) == 2
	})
	if changes, _ := s.env.report.(*recordingReporter).counts(); changes == 0 {
		t.Error("no change was announced to the reporter")
	}
}

// strayRuntime lists what it holds and records deletions.
type strayRuntime struct {
	*fakeRuntime
	mu      sync.Mutex
	listed  []runtime.ContainerInfo
	deleted []string
}

func (r *strayRuntime) List(context.Context) ([]runtime.ContainerInfo, error) { return r.listed, nil }

func (r *strayRuntime) Delete(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deleted = append(r.deleted, id)
	return nil
}

// strayNet has namespaces for attached and records teardowns.
type strayNet struct {
	Network
	attached []string
	torn     []string
}

func (n *strayNet) Teardown(_ context.Context, id string) error {
	n.torn = append(n.torn, id)
	return nil
}
func (n *strayNet) Attached() []string { return n.attached }

// TestRemoveStrays: only once a set is known, containers and network
// namespaces no worker owns are removed.
func TestRemoveStrays(t *testing.T) {
	rt := &strayRuntime{fakeRuntime: newFakeRuntime(), listed: []runtime.ContainerInfo{{ID: "r1"}, {ID: "old"}}}
	nw := &strayNet{attached: []string{"r1", "gone"}}
	s, ctx := startReplicaSet(t, rt, nil)
	s.removeStrays(ctx, rt, nw)
	if len(rt.deleted) != 0 || len(nw.torn) != 0 {
		t.Fatalf("before any set: deleted %v, tore down %v; want nothing", rt.deleted, nw.torn)
	}
	s.apply(ctx, setOf(plainAssignment("r1")))
	s.removeStrays(ctx, rt, nw)
	rt.mu.Lock()
	deleted := slices.Clone(rt.deleted)
	rt.mu.Unlock()
	if !slices.Equal(deleted, []string{"old"}) || !slices.Equal(nw.torn, []string{"gone"}) {
		t.Fatalf("deleted %v, tore down %v; want [old] and [gone]", deleted, nw.torn)
	}
}

// TestReplicaSetStartsNothingOnceStopping: a set that arrives while the
// agent stops (its workers leaving their containers for the next agent
// process) starts no worker, which would start a running container again.
func TestReplicaSetStartsNothingOnceStopping(t *testing.T) {
	rt := newFakeRuntime()
	s, _ := startReplicaSet(t, rt, nil)
	stopping, cancel := context.WithCancel(context.Background())
	cancel()
	s.apply(stopping, setOf(plainAssignment("r1")))
	s.wait()
	if starts, _ := rt.counts("r1"); s.runs("r1") || starts != 0 {
		t.Errorf("runs(r1) = %v after %d starts; want no worker", s.runs("r1"), starts)
	}
}
