package controllers

import (
	"fmt"
	"slices"

	orchpb "github.com/orch-io/orch/proto"
)

// reconcileJob keeps a job's runs going: new runs up to parallelism while
// completions are missing, none once the job ended (its active runs are
// stopped), and only the last DefaultJobRunsKept ended runs kept, with
// their logs. Counting the ends is the FSM's (store.countRunEnd); a failed
// run is never restarted in place (restart policy never): its end lowers
// the active count, and the next pass makes a new run. It returns the runs
// that need a node.
func reconcileJob(ch *Changes, svc *orchpb.Service, reps []*orchpb.Replica, env Env) []*orchpb.Replica {
	spec := svc.GetSpec()
	if spec.IsCronJob() {
		return nil // a cron job runs nothing itself; its jobs do
	}
	st := svc.GetJob()
	var active, ended []*orchpb.Replica
	lastSlot := st.GetSucceeded() + st.GetFailed()
	for _, rep := range reps {
		lastSlot = max(lastSlot, rep.GetSlot())
		if rep.Desired() != orchpb.DesiredRunning {
			continue
		}
		if rep.GetCreateIndex() != 0 && rep.GetCreateIndex() < svc.GetCreateIndex() {
			// A run of an earlier job of this name (deleted, then put
			// again): the delete stopped it; this catches a stray one.
			ch.update(rep, stopped(rep, "job deleted"))
			continue
		}
		if done, _ := rep.RunEnded(); done {
			ended = append(ended, rep)
		} else {
			active = append(active, rep)
		}
	}
	pruneRuns(ch, ended)
	if st.Ended() {
		for _, rep := range active {
			ch.update(rep, stopped(rep, "job "+st.GetState()))
		}
		return nil
	}
	var unplaced []*orchpb.Replica
	for _, rep := range active {
		if rep.GetNode() == "" {
			unplaced = append(unplaced, rep)
		}
	}
	n := int32(len(active))
	need := min(spec.ParallelismOrDefault()-n, spec.CompletionsOrDefault()-st.GetSucceeded()-n)
	for i := int32(1); i <= need; i++ {
		unplaced = append(unplaced, runOf(svc, lastSlot+i, env.NewID()))
	}
	return unplaced
}

// runOf is a new run of a job: a replica numbered slot that never
// restarts in place.
func runOf(svc *orchpb.Service, slot int32, id string) *orchpb.Replica {
	return newReplica(svc, slot, id)
}

// pruneRuns stops (and so lets the pass after forget) the ended runs
// beyond the newest DefaultJobRunsKept.
func pruneRuns(ch *Changes, ended []*orchpb.Replica) {
	if len(ended) <= orchpb.DefaultJobRunsKept {
		return
	}
	slices.SortFunc(ended, func(a, b *orchpb.Replica) int { return int(a.GetSlot() - b.GetSlot()) })
	for _, rep := range ended[:len(ended)-orchpb.DefaultJobRunsKept] {
		ch.update(rep, stopped(rep, fmt.Sprintf("a job keeps its last %d runs", orchpb.DefaultJobRunsKept)))
	}
}
