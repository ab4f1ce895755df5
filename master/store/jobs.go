package store

import (
	"fmt"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// Jobs are stored as services of kind Job (the same table, so a name is
// either a service's or a job's) with their progress in Service.job. The
// FSM alone counts runs: a run's end is counted when the write that ends
// it is applied (storeReplica), so a report applied twice, a leader change
// or an agent reporting again after a restart count nothing more.

func (s *Store) putJob(index uint64, c *orchpb.PutJob) *orchpb.CommandResult {
	spec := c.GetSpec()
	if spec.GetNamespace() == "" || spec.GetName() == "" || !spec.IsJob() {
		return fail(index, orchpb.ResultInvalid, "put job: spec needs kind Job, namespace and name")
	}
	key := svcKey{spec.GetNamespace(), spec.GetName()}
	old := s.services[key]
	if c.IfMatch != nil && c.GetIfMatch() != old.GetVersion() {
		return conflict(index, "job", key.String(), c.GetIfMatch(), old.GetVersion())
	}
	if old != nil && !old.GetSpec().IsJob() {
		return fail(index, orchpb.ResultConflict, "job %s: a service of that name exists", key)
	}
	if msg := s.pinRefs(spec); msg != "" {
		return fail(index, orchpb.ResultInvalid, "%s", msg)
	}
	if old != nil {
		switch {
		case proto.Equal(old.GetSpec(), spec):
			return &orchpb.CommandResult{} // applied again: nothing changes
		case !spec.IsCronJob() || !old.GetSpec().IsCronJob():
			return fail(index, orchpb.ResultConflict, "job %s exists with another spec: a job's spec cannot change; delete it first", key)
		}
		// A cron job's spec may change; the jobs it made keep theirs.
		svc := CopyService(old)
		svc.Spec = spec
		svc.Generation++
		svc.Version = index
		s.services[key] = svc
		s.emit(EventPut, KindService, svc)
		return &orchpb.CommandResult{}
	}
	st := &orchpb.JobStatus{StartedAt: c.GetStartedAt()}
	if !spec.IsCronJob() {
		st.State = string(orchpb.JobRunning)
	}
	s.createJob(index, spec, st)
	return &orchpb.CommandResult{}
}

func (s *Store) createJob(index uint64, spec *orchpb.ServiceSpec, st *orchpb.JobStatus) {
	svc := &orchpb.Service{Spec: spec, Generation: 1, CreateIndex: index, Version: index, Job: st}
	s.services[svcKey{spec.GetNamespace(), spec.GetName()}] = svc
	s.emit(EventPut, KindService, svc)
}

// finishJob ends a running job; one that ended already keeps its end.
func (s *Store) finishJob(index uint64, c *orchpb.FinishJob) *orchpb.CommandResult {
	key := svcKey{c.GetNamespace(), c.GetName()}
	old := s.services[key]
	if old == nil || !old.GetSpec().IsJob() {
		return fail(index, orchpb.ResultNotFound, "job %s not found", key)
	}
	state := orchpb.JobState(c.GetState())
	if state != orchpb.JobSucceeded && state != orchpb.JobFailed {
		return fail(index, orchpb.ResultInvalid, "finish job %s: state %q is not succeeded or failed", key, c.GetState())
	}
	if old.GetJob().JobState() != orchpb.JobRunning {
		return &orchpb.CommandResult{}
	}
	st := copyJobStatus(old.GetJob())
	st.State, st.Message, st.FinishedIndex = string(state), c.GetMessage(), index
	s.storeJobStatus(index, old, st)
	return &orchpb.CommandResult{}
}

func (s *Store) storeJobStatus(index uint64, old *orchpb.Service, st *orchpb.JobStatus) {
	svc := CopyService(old)
	svc.Job = st
	svc.Version = index
	s.services[svcKey{old.GetSpec().GetNamespace(), old.GetSpec().GetName()}] = svc
	s.emit(EventPut, KindService, svc)
}

func copyJobStatus(j *orchpb.JobStatus) *orchpb.JobStatus {
	if j == nil {
		return &orchpb.JobStatus{}
	}
	return proto.Clone(j).(*orchpb.JobStatus)
}

// countRunEnd counts the end of a job run when the write storing r ends
// it: old (the record r replaces) had not ended. A run the cluster
// stopped (desired stopped: preempted, its job deleted) is not the run's
// own end and counts nothing; nor does anything after the job ended.
func (s *Store) countRunEnd(old, r *orchpb.Replica) {
	if !r.GetSpec().IsJob() || r.Desired() != orchpb.DesiredRunning || old == nil {
		return
	}
	if ended, _ := old.RunEnded(); ended {
		return
	}
	ended, succeeded := r.RunEnded()
	if !ended {
		return
	}
	job := s.services[svcKey{r.GetNamespace(), r.GetService()}]
	if !job.GetSpec().IsJob() || job.GetJob().JobState() != orchpb.JobRunning || r.GetCreateIndex() < job.GetCreateIndex() {
		return
	}
	spec := job.GetSpec()
	st := copyJobStatus(job.GetJob())
	if succeeded {
		st.Succeeded++
	} else {
		st.Failed++
	}
	switch {
	case st.Succeeded >= spec.CompletionsOrDefault():
		st.State = string(orchpb.JobSucceeded)
		st.Message = fmt.Sprintf("%d of %d runs succeeded", st.Succeeded, spec.CompletionsOrDefault())
		st.FinishedIndex = s.index
	case st.Failed > spec.BackoffLimitOrDefault():
		st.State = string(orchpb.JobFailed)
		st.Message = fmt.Sprintf("failed runs: %d, more than backoffLimit %d; the last: %s", st.Failed, spec.BackoffLimitOrDefault(), runEnd(r))
		st.FinishedIndex = s.index
	}
	s.storeJobStatus(s.index, job, st)
}

// runEnd says how a failed run ended, for the job's message.
func runEnd(r *orchpb.Replica) string {
	if m := r.GetMessage(); m != "" {
		return r.DisplayName() + " " + m
	}
	return fmt.Sprintf("%s exited %d", r.DisplayName(), r.GetExitCode())
}

// jobRoom says why job key cannot take one more run, given active runs
// not yet ended (counted by the caller): it ended, or parallelism or
// completions are reached. The controller plans within these bounds; the
// FSM's check makes them hold whatever plan arrives (a deposed leader's
// included).
func jobRoom(job *orchpb.Service, active int32) string {
	spec := job.GetSpec()
	switch {
	case job.GetJob().JobState() != orchpb.JobRunning:
		return fmt.Sprintf("job %s/%s is %s", spec.GetNamespace(), spec.GetName(), job.GetJob().GetState())
	case active >= spec.ParallelismOrDefault():
		return fmt.Sprintf("job %s/%s has %d runs active, its parallelism", spec.GetNamespace(), spec.GetName(), active)
	case job.GetJob().GetSucceeded()+active >= spec.CompletionsOrDefault():
		return fmt.Sprintf("job %s/%s needs no more runs", spec.GetNamespace(), spec.GetName())
	}
	return ""
}

// activeRuns counts the runs of job key that have not ended (placed or not).
func (s *Store) activeRuns(key svcKey) int32 {
	var n int32
	for id := range s.byService[key] {
		r := s.replicas[id]
		if ended, _ := r.RunEnded(); !ended && r.Desired() == orchpb.DesiredRunning {
			n++
		}
	}
	return n
}
