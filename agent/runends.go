package agent

import (
	orchpb "github.com/orch-io/orch/proto"
)

// A replica whose restart policy is never (every job run) ends once: its
// end must survive an agent restart, or the restarted agent would take the
// exited container for a crash and run it again. The worker saves the end
// it reported (workerState.Ended) and, when adopting, reports it again
// instead of starting anything; a container that exited while no agent
// watched is waited on, which gives its exit status at once.

// runsOnce reports whether the replica must never start again once ended.
func (w *replicaWorker) runsOnce() bool {
	return w.asg.GetSpec().GetRestart().GetPolicy() == orchpb.RestartNever
}

// endedState is what workerState.Ended saves: the final state of a
// replica that runs once, "" otherwise.
func (w *replicaWorker) endedState(st *orchpb.ReplicaStatus) string {
	if !w.runsOnce() {
		return ""
	}
	switch st.Observed() {
	case orchpb.ReplicaStopped, orchpb.ReplicaFailed:
		return st.GetState()
	}
	return ""
}

// resumeEnded restores the end an earlier agent process reported and
// reports it again (the masters may not have heard it); the caller then
// only waits to be told to remove the replica. It reports false when
// there is no saved end.
func (w *replicaWorker) resumeEnded() bool {
	if w.saved.Ended == "" || !w.runsOnce() {
		return false
	}
	w.log.Info("run ended before the agent restarted; not starting it again", "state", w.saved.Ended, "exit_code", w.saved.ExitCode)
	w.update(func(st *orchpb.ReplicaStatus) {
		st.State, st.ExitCode, st.Message = w.saved.Ended, w.saved.ExitCode, w.saved.EndMessage
	})
	return true
}
