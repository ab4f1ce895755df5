package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	orchpb "github.com/orch-io/orch/proto"
)

// cronCluster is a store with one cron job made at 30 s past a minute
// and a job controller on a manual clock.
type cronCluster struct {
	*cluster
	clk *clock
	jc  *JobController
}

func newCronCluster(t *testing.T, yaml string) *cronCluster {
	c := newCluster(t)
	c.node("a", 100000)
	clk := newClock() // 1_700_000_000 is 22:13:20 UTC
	clk.advance(10 * time.Second)
	c.job(yaml, clk.Now())
	return &cronCluster{cluster: c, clk: clk, jc: NewJobController(JobDeps{Store: c.st, Proposer: proposer{c}, Clock: clk})}
}

func (c *cronCluster) pass() {
	c.t.Helper()
	if err := c.jc.Pass(context.Background()); err != nil {
		c.t.Fatal(err)
	}
}

// jobs are the cron job's jobs by name.
func (c *cronCluster) jobs(cron string) map[string]*orchpb.Service {
	out := map[string]*orchpb.Service{}
	for _, j := range c.st.CronChildren("default", cron) {
		out[j.GetSpec().GetName()] = j
	}
	return out
}

// end ends a job by its runs: one run, exit code.
func (c *cronCluster) end(job string, code int32) {
	c.t.Helper()
	c.reconcile()
	c.finish(job, code)
}

func minuteName(cron string, clk *clock) string {
	return CronJobName(cron, clk.Now().Truncate(time.Minute))
}

func TestCronJobMakesOneJobPerTime(t *testing.T) {
	c := newCronCluster(t, "kind: Job\nname: tick\nimage: hello:1\nschedule: '* * * * *'\nconcurrencyPolicy: allow\n")
	c.pass()
	if n := len(c.jobs("tick")); n != 0 {
		t.Fatalf("%d jobs before the first time", n)
	}
	c.clk.advance(30 * time.Second) // 22:14:00
	c.pass()
	c.pass()
	c.clk.advance(30 * time.Second)
	c.pass()
	jobs := c.jobs("tick")
	first := minuteName("tick", c.clk)
	if len(jobs) != 1 || jobs[first] == nil {
		t.Fatalf("jobs after one time, three passes: %v, want only %s", keys(jobs), first)
	}
	if st := jobs[first].GetJob(); st.GetCronJob() != "tick" || st.JobState() != orchpb.JobRunning || jobs[first].GetSpec().GetSchedule() != "" {
		t.Fatalf("the job a cron job made: %v", jobs[first])
	}
	c.clk.advance(30 * time.Second)
	c.pass()
	if jobs := c.jobs("tick"); len(jobs) != 2 || jobs[minuteName("tick", c.clk)] == nil {
		t.Fatalf("after the second time (allow): %v", keys(jobs))
	}
}

// Two leaders deciding on the same view (a deposed one and its successor)
// make one job: the time is recorded with the job, and a time at or before
// the recorded one is refused.
func TestCronJobRecordedTimeIsNeverRunAgain(t *testing.T) {
	c := newCronCluster(t, "kind: Job\nname: once\nimage: hello:1\nschedule: '* * * * *'\nconcurrencyPolicy: allow\n")
	c.clk.advance(30 * time.Second)
	cj := c.svc("once")
	a, _ := cronDecision(cj, nil, c.clk.Now())
	b, _ := cronDecision(cj, nil, c.clk.Now().Add(time.Second))
	first := c.st.Apply(c.index+1, &orchpb.Command{Op: &orchpb.Command_StartCronJob{StartCronJob: a}})
	second := c.st.Apply(c.index+2, &orchpb.Command{Op: &orchpb.Command_StartCronJob{StartCronJob: b}})
	c.index += 2
	if first.GetErrorCode() != "" || second.GetErrorCode() != orchpb.ResultConflict {
		t.Fatalf("first %v, second %v; want the second refused", first, second)
	}
	c.pass()
	if jobs := c.jobs("once"); len(jobs) != 1 {
		t.Fatalf("jobs for one time: %v", keys(jobs))
	}
}

func TestCronJobForbidSkipsWhileAJobRuns(t *testing.T) {
	c := newCronCluster(t, "kind: Job\nname: nightly\nimage: hello:1\nschedule: '* * * * *'\n")
	c.clk.advance(30 * time.Second)
	c.pass()
	first := minuteName("nightly", c.clk)
	c.clk.advance(time.Minute)
	c.pass()
	if jobs := c.jobs("nightly"); len(jobs) != 1 {
		t.Fatalf("forbid made a second job while the first runs: %v", keys(jobs))
	}
	if msg := c.svc("nightly").GetJob().GetMessage(); !strings.Contains(msg, "still runs (concurrencyPolicy forbid)") {
		t.Fatalf("skip not recorded: %q", msg)
	}
	c.end(first, 0)
	c.pass() // the skipped time is not made up for
	if jobs := c.jobs("nightly"); len(jobs) != 1 {
		t.Fatalf("the skipped time ran later: %v", keys(jobs))
	}
	c.clk.advance(time.Minute)
	c.pass()
	if jobs := c.jobs("nightly"); len(jobs) != 2 {
		t.Fatalf("next time after the job ended: %v", keys(jobs))
	}
}

func TestCronJobReplaceDeletesTheRunningJob(t *testing.T) {
	c := newCronCluster(t, "kind: Job\nname: rep\nimage: hello:1\nschedule: '* * * * *'\nconcurrencyPolicy: replace\n")
	c.clk.advance(30 * time.Second)
	c.pass()
	first := minuteName("rep", c.clk)
	c.reconcile()
	c.clk.advance(time.Minute)
	c.pass()
	jobs := c.jobs("rep")
	if len(jobs) != 1 || jobs[first] != nil || jobs[minuteName("rep", c.clk)] == nil {
		t.Fatalf("replace: %v", keys(jobs))
	}
	c.reconcile()
	for _, r := range c.live(first) {
		t.Fatalf("run %s of the replaced job still desired running", r.GetName())
	}
}

func TestCronJobHistoryLimits(t *testing.T) {
	c := newCronCluster(t, "kind: Job\nname: h\nimage: hello:1\nschedule: '* * * * *'\n")
	var names []string
	for i, code := range []int32{0, 0, 3, 0, 0, 3, 0} {
		c.clk.advance(time.Minute)
		if i == 0 {
			c.clk.advance(-30 * time.Second)
		}
		c.pass()
		names = append(names, minuteName("h", c.clk))
		c.end(names[i], code)
		// backoffLimit 3: a failing job needs four failed runs.
		for j := 0; j < 3 && code != 0; j++ {
			c.end(names[i], code)
		}
	}
	c.pass()
	jobs := c.jobs("h")
	want := []string{names[3], names[4], names[5], names[6]} // last 3 succeeded, last 1 failed
	if len(jobs) != len(want) {
		t.Fatalf("kept %v, want %v", keys(jobs), want)
	}
	for _, n := range want {
		if jobs[n] == nil {
			t.Fatalf("kept %v, want %v", keys(jobs), want)
		}
	}
}

func TestCronJobMissedTimeRunsOnceWithinStartingDeadline(t *testing.T) {
	c := newCronCluster(t, "kind: Job\nname: m\nimage: hello:1\nschedule: '* * * * *'\nstartingDeadline: 30s\n")
	// No leader for three minutes and 10 s: only the latest time runs.
	c.clk.advance(30*time.Second + 3*time.Minute + 10*time.Second)
	c.pass()
	jobs := c.jobs("m")
	latest := minuteName("m", c.clk)
	if len(jobs) != 1 || jobs[latest] == nil {
		t.Fatalf("after missed times: %v, want only %s", keys(jobs), latest)
	}
	c.end(latest, 0)
	// Missed by 50 s, more than startingDeadline: recorded as skipped.
	c.clk.advance(time.Minute + 40*time.Second)
	c.pass()
	if jobs := c.jobs("m"); len(jobs) != 1 {
		t.Fatalf("a time missed past startingDeadline ran: %v", keys(jobs))
	}
	if msg := c.svc("m").GetJob().GetMessage(); !strings.Contains(msg, "more than startingDeadline 30s") {
		t.Fatalf("skip not recorded: %q", msg)
	}
}

func keys(m map[string]*orchpb.Service) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
