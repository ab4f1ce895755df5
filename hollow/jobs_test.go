package hollow_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/orch-io/orch/hollow"
	"github.com/orch-io/orch/master/manifest"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// putJob creates a job through the API, as orchctl apply does.
func (c *cluster) putJob(yaml string) {
	c.t.Helper()
	spec, err := manifest.ParseOne([]byte(yaml))
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.api.ApplyJob(c.ctx, spec, nil); err != nil {
		c.t.Fatal(err)
	}
}

// jobEnds waits until the job ended and returns its counts.
func (c *cluster) jobEnds(name string, timeout time.Duration) *orchpb.JobStatus {
	c.t.Helper()
	var st *orchpb.JobStatus
	c.eventually(timeout, "job "+name+" ends", func() error {
		st = c.m.Store().Service("default", name).GetJob()
		if !st.Ended() {
			return fmt.Errorf("job %v", st)
		}
		return nil
	})
	return st
}

// Hollow nodes end job runs at once: a job of 20 completions succeeds with
// exactly 20 runs counted; with every run failing, a job fails after
// backoffLimit+1 runs.
func TestHollowJobRuns(t *testing.T) {
	c := startCluster(t, 0)
	c.fleet(hollow.Config{Count: 3, Prefix: "ok"})
	c.putJob("kind: Job\nname: twenty\nimage: hello:1\ncompletions: 20\nparallelism: 4\n")
	st := c.jobEnds("twenty", time.Minute)
	if st.JobState() != orchpb.JobSucceeded || st.GetSucceeded() != 20 || st.GetFailed() != 0 {
		t.Fatalf("job of 20 completions: %v", st)
	}
	if n := len(c.m.Store().Replicas(store.ReplicaFilter{Namespace: "default", Service: "twenty"})); n > orchpb.DefaultJobRunsKept+4 {
		t.Fatalf("%d runs kept", n)
	}
}

func TestHollowJobFailsAfterBackoffLimit(t *testing.T) {
	c := startCluster(t, 0)
	c.fleet(hollow.Config{Count: 2, Prefix: "bad", JobFailureRate: 1})
	c.putJob("kind: Job\nname: broken\nimage: hello:1\nbackoffLimit: 2\n")
	st := c.jobEnds("broken", time.Minute)
	if st.JobState() != orchpb.JobFailed || st.GetFailed() != 3 || st.GetSucceeded() != 0 {
		t.Fatalf("job whose runs all fail, backoffLimit 2: %v", st)
	}
}

// BenchmarkJobThroughput runs one job of 10,000 instantly successful runs,
// 1,000 at once, through 1,000 hollow nodes (a child process) and a real
// master: runs completed per second from the apply to the job's success.
// Run with -benchtime 1x.
func BenchmarkJobThroughput(b *testing.B) {
	const completions, parallelism, nodes = 10000, 1000, 1000
	for range b.N {
		c := startCluster(b, 3*time.Second)
		c.hollowProcess(b, nodes, time.Second)
		st := c.m.Store()
		startIndex := st.Index()
		cpuBefore := cpuSeconds()
		b.ResetTimer()
		start := time.Now()
		c.putJob(fmt.Sprintf("kind: Job\nname: burst\nimage: hello:1\ncompletions: %d\nparallelism: %d\n", completions, parallelism))
		js := c.jobEnds("burst", 10*time.Minute)
		took := time.Since(start)
		b.StopTimer()
		if js.JobState() != orchpb.JobSucceeded || js.GetSucceeded() != completions || js.GetFailed() != 0 {
			b.Fatalf("job: %v", js)
		}
		b.ReportMetric(took.Seconds(), "job-s")
		b.ReportMetric(completions/took.Seconds(), "runs/s")
		b.ReportMetric(float64(st.Index()-startIndex), "raft-entries")
		b.ReportMetric(cpuSeconds()-cpuBefore, "master-cpu-s")
	}
}
