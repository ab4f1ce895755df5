package agent

import (
	"context"
	"testing"

	"github.com/orch-io/orch/agent/runtime"
	orchpb "github.com/orch-io/orch/proto"
)

// A run (restart policy never) that ended is not started again by a
// restarted agent: it reports the same end.
func TestRunEndedBeforeAgentRestartStaysEnded(t *testing.T) {
	rt := newFakeRuntime()
	env := testEnv(t, rt)
	asg := assignment("run1", orchpb.RestartNever, 0)
	asg.Spec.Health = nil
	ctx, cancel := context.WithCancel(context.Background())
	w := newReplicaWorker(env, asg, nil, nil)
	env.report.(*recordingReporter).of = w.status
	go w.run(ctx)
	await(t, w, "running", func(s *orchpb.ReplicaStatus) bool { return s.Observed() == orchpb.ReplicaRunning })
	rt.exitNow("run1", runtime.ExitStatus{Code: 3})
	await(t, w, "failed", func(s *orchpb.ReplicaStatus) bool { return s.Observed() == orchpb.ReplicaFailed })
	cancel() // the agent stops; the container stays, exited
	<-w.done

	w2 := runAdopting(t, env, asg, &containerRef{taskStatus: "stopped"})
	st := await(t, w2, "failed again", func(s *orchpb.ReplicaStatus) bool { return s.Observed() == orchpb.ReplicaFailed })
	if st.ExitCode != 3 || st.Message != "exited 3" || st.Restarts != 0 {
		t.Fatalf("after the restart: %v", st)
	}
	if starts, _ := rt.counts("run1"); starts != 1 {
		t.Fatalf("the run started %d times, want once", starts)
	}
}

// A run whose container exited while no agent ran ends with its exit
// status, not with a restart.
func TestRunExitedWhileAgentDownEndsAsItExited(t *testing.T) {
	rt := newFakeRuntime()
	env := testEnv(t, rt)
	asg := assignment("run2", orchpb.RestartNever, 0)
	asg.Spec.Health = nil
	rt.exits["run2"] = make(chan runtime.ExitStatus, 1)
	rt.exits["run2"] <- runtime.ExitStatus{Code: 0}
	w := runAdopting(t, env, asg, &containerRef{taskStatus: "stopped"})
	st := await(t, w, "stopped", func(s *orchpb.ReplicaStatus) bool { return s.Observed() == orchpb.ReplicaStopped })
	if st.ExitCode != 0 || st.Restarts != 0 {
		t.Fatalf("a run that exited 0 unwatched: %v", st)
	}
	if starts, _ := rt.counts("run2"); starts != 0 {
		t.Fatalf("the run was started %d times after it exited", starts)
	}
}
