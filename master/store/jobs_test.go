package store

import (
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

func jobSpec(name string, completions, parallelism, backoff int32) *orchpb.ServiceSpec {
	return &orchpb.ServiceSpec{Kind: orchpb.KindJob, Namespace: "default", Name: name, Image: "hello",
		Completions: proto.Int32(completions), Parallelism: proto.Int32(parallelism), BackoffLimit: proto.Int32(backoff),
		Restart: &orchpb.RestartPolicy{Policy: orchpb.RestartNever}}
}

func putJob(spec *orchpb.ServiceSpec) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_PutJob{PutJob: &orchpb.PutJob{Spec: spec, StartedAt: 1000}}}
}

func run(spec *orchpb.ServiceSpec, id string, slot int32, node string) *orchpb.Replica {
	r := replica(id, spec.GetNamespace(), spec.GetName(), slot, node, 0, 0)
	r.Spec = spec
	return r
}

func ended(id string, code int32) *orchpb.ReplicaStatus {
	st := &orchpb.ReplicaStatus{Id: id, ExitCode: code, StartedAt: 5, State: string(orchpb.ReplicaStopped)}
	if code != 0 {
		st.State = string(orchpb.ReplicaFailed)
	}
	return st
}

func jobStatus(t *testing.T, s *Store, name string) *orchpb.JobStatus {
	t.Helper()
	svc := s.Service("default", name)
	if svc == nil {
		t.Fatalf("job %s not stored", name)
	}
	return svc.GetJob()
}

// A run's end is counted once: the same report again, a report after a
// restarted agent saw the exited container, and a report of it running
// again count nothing.
func TestJobCountsEachRunEndOnce(t *testing.T) {
	s := New()
	mustApply(t, s, registerNode("n1", "node-1", 0, 0))
	spec := jobSpec("migrate", 2, 2, 3)
	mustApply(t, s, putJob(spec))
	mustApply(t, s, putReplicas(run(spec, "r1", 1, "n1"), run(spec, "r2", 2, "n1")))
	running := &orchpb.ReplicaStatus{Id: "r1", State: string(orchpb.ReplicaRunning), StartedAt: 5}
	mustApply(t, s, reportStatus("n1", running))
	mustApply(t, s, reportStatus("n1", ended("r1", 0)))
	mustApply(t, s, reportStatus("n1", ended("r1", 0)))
	mustApply(t, s, reportStatus("n1", running))
	mustApply(t, s, reportStatus("n1", ended("r1", 0)))
	if st := jobStatus(t, s, "migrate"); st.GetSucceeded() != 1 || st.GetFailed() != 0 || st.JobState() != orchpb.JobRunning {
		t.Fatalf("after one run ended (reported three times): %v", st)
	}
	mustApply(t, s, reportStatus("n1", ended("r2", 0)))
	st := jobStatus(t, s, "migrate")
	if st.GetSucceeded() != 2 || st.JobState() != orchpb.JobSucceeded || st.GetFinishedIndex() == 0 {
		t.Fatalf("after two runs succeeded: %v", st)
	}
	assertRoundTrip(t, s)
}

func TestJobFailsAfterBackoffLimitPlusOneFailedRuns(t *testing.T) {
	s := New()
	mustApply(t, s, registerNode("n1", "node-1", 0, 0))
	spec := jobSpec("always-fails", 1, 1, 2)
	mustApply(t, s, putJob(spec))
	for i, id := range []string{"r1", "r2", "r3"} {
		if st := jobStatus(t, s, "always-fails"); st.JobState() != orchpb.JobRunning {
			t.Fatalf("before run %d: job %v", i+1, st)
		}
		mustApply(t, s, putReplicas(run(spec, id, int32(i+1), "n1")))
		mustApply(t, s, reportStatus("n1", ended(id, 3)))
	}
	st := jobStatus(t, s, "always-fails")
	if st.JobState() != orchpb.JobFailed || st.GetFailed() != 3 || st.GetSucceeded() != 0 {
		t.Fatalf("after 3 failed runs with backoffLimit 2: %v", st)
	}
	// Nothing counts after the end, and no new run is taken.
	res := s.Apply(s.Index()+1, putReplicas(run(spec, "r4", 4, "n1")))
	if res.GetRejected()["r4"] == "" {
		t.Fatalf("a run of a failed job was stored: %v", res)
	}
}

// The FSM refuses a run past parallelism or completions, whatever the plan.
func TestJobRunsBoundedByParallelism(t *testing.T) {
	s := New()
	mustApply(t, s, registerNode("n1", "node-1", 0, 0))
	spec := jobSpec("batch", 3, 2, 3)
	mustApply(t, s, putJob(spec))
	res := s.Apply(s.Index()+1, putReplicas(run(spec, "r1", 1, "n1"), run(spec, "r2", 2, "n1"), run(spec, "r3", 3, "n1")))
	if len(res.GetRejected()) != 1 || res.GetRejected()["r3"] == "" {
		t.Fatalf("three runs at parallelism 2: rejected %v", res.GetRejected())
	}
	mustApply(t, s, reportStatus("n1", ended("r1", 0), ended("r2", 0)))
	res = s.Apply(s.Index()+1, putReplicas(run(spec, "r3", 3, "n1"), run(spec, "r4", 4, "n1")))
	if len(res.GetRejected()) != 1 || res.GetRejected()["r4"] == "" {
		t.Fatalf("two runs when one completion is missing: rejected %v", res.GetRejected())
	}
}

// A run the cluster stopped (desired stopped) is not counted, and a lost
// run (its node went down) is a failed run.
func TestJobStoppedRunNotCountedLostRunFails(t *testing.T) {
	s := New()
	mustApply(t, s, registerNode("n1", "node-1", 0, 0))
	spec := jobSpec("j", 5, 2, 3)
	mustApply(t, s, putJob(spec))
	mustApply(t, s, putReplicas(run(spec, "r1", 1, "n1"), run(spec, "r2", 2, "n1")))
	stop := run(spec, "r1", 1, "n1")
	stop.SetDesired(orchpb.DesiredStopped)
	mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: []*orchpb.Replica{stop}}}})
	mustApply(t, s, reportStatus("n1", ended("r1", 0)))
	mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_SetNodeState{SetNodeState: &orchpb.SetNodeState{NodeId: "n1", State: string(orchpb.NodeDown)}}})
	if st := jobStatus(t, s, "j"); st.GetSucceeded() != 0 || st.GetFailed() != 1 {
		t.Fatalf("a stopped run and a lost one: %v", st)
	}
}

func TestJobSpecCannotChangeButPutAgainIsNothing(t *testing.T) {
	s := New()
	spec := jobSpec("j", 1, 1, 3)
	mustApply(t, s, putJob(spec))
	v := s.Service("default", "j").GetVersion()
	mustApply(t, s, putJob(jobSpec("j", 1, 1, 3)))
	if s.Service("default", "j").GetVersion() != v {
		t.Fatal("putting the same job again changed it")
	}
	if res := s.Apply(s.Index()+1, putJob(jobSpec("j", 2, 1, 3))); res.GetErrorCode() != orchpb.ResultConflict {
		t.Fatalf("another spec for a job: %v", res)
	}
	if res := s.Apply(s.Index()+1, putService("default", "j", 1, "x")); res.GetErrorCode() != orchpb.ResultConflict {
		t.Fatalf("a service over a job: %v", res)
	}
	mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_FinishJob{FinishJob: &orchpb.FinishJob{Namespace: "default", Name: "j",
		State: string(orchpb.JobFailed), Message: "deadline 1s passed"}}})
	mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_FinishJob{FinishJob: &orchpb.FinishJob{Namespace: "default", Name: "j",
		State: string(orchpb.JobSucceeded)}}})
	if st := jobStatus(t, s, "j"); st.JobState() != orchpb.JobFailed || st.GetMessage() != "deadline 1s passed" {
		t.Fatalf("a finished job finished again: %v", st)
	}
}
