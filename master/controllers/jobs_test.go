package controllers

import (
	"context"

	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"

	"github.com/orch-io/orch/master/manifest"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

func (c *cluster) job(yaml string, startedAt time.Time) *orchpb.ServiceSpec {
	c.t.Helper()
	spec, err := manifest.ParseOne([]byte(yaml))
	if err != nil {
		c.t.Fatal(err)
	}
	c.apply(&orchpb.Command{Op: &orchpb.Command_PutJob{PutJob: &orchpb.PutJob{Spec: spec, StartedAt: startedAt.UnixMilli()}}})
	return spec
}

// runs are a job's runs by state: active (not ended) and ended.
func (c *cluster) runs(job string) (active, ended []*orchpb.Replica) {
	for _, r := range c.st.Replicas(store.ReplicaFilter{Namespace: "default", Service: job}) {
		if r.Desired() != orchpb.DesiredRunning {
			continue
		}
		if done, _ := r.RunEnded(); done {
			ended = append(ended, r)
		} else {
			active = append(active, r)
		}
	}
	return active, ended
}

// finish plays agents whose placed runs end with exit code code.
func (c *cluster) finish(job string, code int32) {
	c.t.Helper()
	active, _ := c.runs(job)
	for _, r := range active {
		if r.GetNode() == "" {
			continue
		}
		st := &orchpb.ReplicaStatus{Id: r.GetId(), State: string(orchpb.ReplicaStopped), StartedAt: 1, ExitCode: code}
		if code != 0 {
			st.State = string(orchpb.ReplicaFailed)
		}
		c.apply(&orchpb.Command{Op: &orchpb.Command_ReportReplicaStatus{ReportReplicaStatus: &orchpb.ReportReplicaStatus{
			NodeId: r.GetNode(), Statuses: []*orchpb.ReplicaStatus{st}}}})
	}
}

func TestJobRunsWithinParallelismUntilCompletions(t *testing.T) {
	c := newCluster(t)
	c.node("a", 4000)
	c.node("b", 4000)
	c.job("kind: Job\nname: batch\nimage: hello:1\ncompletions: 6\nparallelism: 2\n", time.Now())
	for pass := 0; pass < 20 && c.svc("batch").GetJob().JobState() == orchpb.JobRunning; pass++ {
		c.reconcile()
		active, _ := c.runs("batch")
		if len(active) > 2 {
			t.Fatalf("pass %d: %d runs active, parallelism 2", pass, len(active))
		}
		c.finish("batch", 0)
	}
	st := c.svc("batch").GetJob()
	if st.JobState() != orchpb.JobSucceeded || st.GetSucceeded() != 6 || st.GetFailed() != 0 {
		t.Fatalf("job after its runs: %v", st)
	}
	c.reconcile()
	if active, ended := c.runs("batch"); len(active) != 0 || len(ended) != 6 {
		t.Fatalf("a succeeded job has %d active and %d ended runs, want 0 and 6", len(active), len(ended))
	}
}

func TestJobFailsAfterBackoffLimitPlusOneRuns(t *testing.T) {
	c := newCluster(t)
	c.node("a", 4000)
	c.node("b", 4000)
	c.job("kind: Job\nname: broken\nimage: hello:1\nbackoffLimit: 2\n", time.Now())
	created := map[string]bool{}
	for pass := 0; pass < 20 && c.svc("broken").GetJob().JobState() == orchpb.JobRunning; pass++ {
		c.reconcile()
		active, _ := c.runs("broken")
		for _, r := range active {
			created[r.GetId()] = true
		}
		c.finish("broken", 3)
	}
	c.reconcile()
	st := c.svc("broken").GetJob()
	if st.JobState() != orchpb.JobFailed || st.GetFailed() != 3 || len(created) != 3 {
		t.Fatalf("after %d runs: job %v; want failed after 3 runs", len(created), st)
	}
	if !strings.Contains(st.GetMessage(), "exited 3") {
		t.Fatalf("message %q does not say how the last run ended", st.GetMessage())
	}
	if active, _ := c.runs("broken"); len(active) != 0 {
		t.Fatalf("a failed job still has %d runs", len(active))
	}
}

// A job keeps its last runs, not all of them.
func TestJobKeepsItsLastRuns(t *testing.T) {
	c := newCluster(t)
	c.node("a", 4000)
	c.job("kind: Job\nname: many\nimage: hello:1\ncompletions: 25\nparallelism: 5\n", time.Now())
	for pass := 0; pass < 40 && c.svc("many").GetJob().JobState() == orchpb.JobRunning; pass++ {
		c.reconcile()
		c.finish("many", 0)
	}
	c.reconcile()
	c.agents(nil)
	c.reconcile()
	_, ended := c.runs("many")
	all := c.st.Replicas(store.ReplicaFilter{Namespace: "default", Service: "many"})
	if len(ended) != orchpb.DefaultJobRunsKept || len(all) != orchpb.DefaultJobRunsKept || ended[0].GetSlot() != 16 {
		t.Fatalf("kept %d ended runs (%d records), first slot %d; want the last %d", len(ended), len(all), ended[0].GetSlot(), orchpb.DefaultJobRunsKept)
	}
}

func TestJobDeadlineFailsItAndStopsItsRuns(t *testing.T) {
	c := newCluster(t)
	c.node("a", 4000)
	clk := newClock()
	c.job("kind: Job\nname: slow\nimage: hello:1\nparallelism: 2\ncompletions: 4\ndeadline: 1m\n", clk.Now())
	jc := NewJobController(JobDeps{Store: c.st, Proposer: proposer{c}, Clock: clk})
	c.reconcile()
	c.agents(nil)
	clk.advance(59 * time.Second)
	if err := jc.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.svc("slow").GetJob(); st.JobState() != orchpb.JobRunning {
		t.Fatalf("before its deadline: %v", st)
	}
	clk.advance(2 * time.Second)
	if err := jc.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := c.svc("slow").GetJob()
	if st.JobState() != orchpb.JobFailed || !strings.Contains(st.GetMessage(), "deadline 1m0s passed") {
		t.Fatalf("past its deadline: %v", st)
	}
	c.reconcile()
	if live := c.live("slow"); len(live) != 0 {
		t.Fatalf("%d runs of a failed job still desired running", len(live))
	}
	c.finish("slow", 0) // stopped runs report; nothing is counted after the end
	if st := c.svc("slow").GetJob(); st.GetSucceeded() != 0 {
		t.Fatalf("runs counted after the job failed: %v", st)
	}
}

// A failed run's next run prefers another node.
func TestJobRerunPrefersAnotherNode(t *testing.T) {
	c := newCluster(t)
	c.node("a", 4000)
	c.node("b", 4000)
	c.job("kind: Job\nname: flaky\nimage: hello:1\nbackoffLimit: 5\n", time.Now())
	c.reconcile()
	first, _ := c.runs("flaky")
	c.finish("flaky", 1)
	c.reconcile()
	second, _ := c.runs("flaky")
	if len(first) != 1 || len(second) != 1 || second[0].GetNode() == "" || second[0].GetNode() == first[0].GetNode() {
		t.Fatalf("first run on %v, the next on %v: want another node", first, second)
	}
}

// The plan of a job shows its first runs, up to its parallelism.
func TestPlanOfAJob(t *testing.T) {
	c := newCluster(t)
	c.node("a", 4000)
	plans := c.plan("kind: Job\nname: batch\nimage: hello:1\ncompletions: 5\nparallelism: 2\n")
	if len(plans) != 1 || plans[0].Action != api.PlanCreate || len(plans[0].Placements) != 2 {
		t.Fatalf("plan of a job: %+v", plans)
	}
}
