package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
)

const sixJob = `
kind: Job
name: sixes
image: orch.local/hello:1
command: ["/hello", "exit", "0", "--after", "1s"]
resources: {cpu: 20m, memory: 16Mi}
completions: 6
parallelism: 2
`

const failingJob = `
kind: Job
name: broken
image: orch.local/hello:1
command: ["/hello", "exit", "3"]
resources: {cpu: 20m, memory: 16Mi}
backoffLimit: 2
`

// concurrency follows a job's runs through the watch and keeps the most
// that could run at once after any change: placed, not ended, whatever
// the desired state (a run told to stop runs until its agent says so).
type concurrency struct {
	mu   sync.Mutex
	runs map[string]*orchpb.Replica
	most int
}

func (c *concurrency) watch(ctx context.Context, t *testing.T, cl *client.Client, job string) {
	_, index, err := cl.ListReplicas(ctx, client.ReplicaFilter{Namespace: "default", Service: job})
	if err != nil {
		t.Fatal(err)
	}
	c.runs = map[string]*orchpb.Replica{}
	events, _ := cl.Watch(ctx, index, api.KindReplica)
	go func() {
		for ev := range events {
			r := &orchpb.Replica{}
			if err := api.UnmarshalObject(ev.Object, r); err != nil || r.GetService() != job {
				continue
			}
			c.mu.Lock()
			c.runs[r.GetId()] = r
			if ev.Type == "delete" {
				delete(c.runs, r.GetId())
			}
			n := 0
			for _, run := range c.runs {
				if ended, _ := run.RunEnded(); run.GetNode() != "" && !ended && !run.Terminal() {
					n++
				}
			}
			c.most = max(c.most, n)
			c.mu.Unlock()
		}
	}()
}

func (c *concurrency) max() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.most
}

// TestJobs is issue 13's acceptance for jobs against one dev cluster (a
// real agent, containerd and runc): a job of 6 completions with
// parallelism 2 never runs more than 2 at once and succeeds; a job that
// always fails ends failed after backoffLimit+1 runs, and `orchctl wait`
// says so by its exit code.
func TestJobs(t *testing.T) {
	d := startDevCluster(t)
	d.loadHello()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var six concurrency
	six.watch(ctx, t, d.api, "sixes")

	dir := t.TempDir()
	for name, yaml := range map[string]string{"six.yaml": sixJob, "broken.yaml": failingJob} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, errOut, code := d.orchctl(t, "apply", "-f", filepath.Join(dir, "six.yaml"), "-f", filepath.Join(dir, "broken.yaml")); code != 0 ||
		!strings.Contains(out, "job/sixes created") || !strings.Contains(out, "job/broken created") {
		t.Fatalf("apply: exit %d, %q, %q", code, out, errOut)
	}
	if out, errOut, code := d.orchctl(t, "wait", "job", "sixes", "--timeout", "3m"); code != 0 {
		t.Fatalf("wait job sixes: exit %d, %q, %q", code, out, errOut)
	}
	job, err := d.api.GetJob(ctx, "default", "sixes")
	if err != nil {
		t.Fatal(err)
	}
	if st := job.GetStatus().GetJob(); st.JobState() != orchpb.JobSucceeded || st.GetSucceeded() != 6 || st.GetFailed() != 0 {
		t.Fatalf("job sixes: %v", st)
	}
	if most := six.max(); most != 2 {
		t.Fatalf("at most %d runs of sixes ran at once, want 2 (its parallelism)", most)
	}
	if out, errOut, code := d.orchctl(t, "logs", "job/sixes"); code != 0 || strings.Count(out, "exit 0") != 6 {
		t.Errorf("logs job/sixes: exit %d, %q, %q; want the 6 runs' output", code, out, errOut)
	}
	if out, _, code := d.orchctl(t, "describe", "job", "sixes"); code != 0 || !strings.Contains(out, "6 of 6 runs succeeded") {
		t.Errorf("describe job sixes: exit %d, %q", code, out)
	}

	out, errOut, code := d.orchctl(t, "wait", "job", "broken", "--timeout", "3m")
	if code == 0 || !strings.Contains(errOut, "job/broken failed") || !strings.Contains(errOut, "exited 3") {
		t.Fatalf("wait job broken: exit %d, %q, %q; want non-zero and why", code, out, errOut)
	}
	runs, _, err := d.api.ListReplicas(ctx, client.ReplicaFilter{Namespace: "default", Service: "broken"})
	if err != nil {
		t.Fatal(err)
	}
	job, err = d.api.GetJob(ctx, "default", "broken")
	if err != nil {
		t.Fatal(err)
	}
	if st := job.GetStatus().GetJob(); st.JobState() != orchpb.JobFailed || st.GetFailed() != 3 || len(runs) != 3 {
		t.Fatalf("job broken: %v with %d runs; want failed after 3", st, len(runs))
	}
	for _, r := range runs {
		if r.GetExitCode() != 3 {
			t.Errorf("run %s: exit code %d, want 3", r.DisplayName(), r.GetExitCode())
		}
	}
	if out, _, code := d.orchctl(t, "get", "jobs"); code != 0 || !strings.Contains(out, "succeeded") || !strings.Contains(out, "failed") {
		t.Errorf("get jobs: exit %d, %q", code, out)
	}
	if _, errOut, code := d.orchctl(t, "delete", "job", "sixes"); code != 0 {
		t.Errorf("delete job sixes: exit %d, %q", code, errOut)
	}
	d.eventually("the deleted job's runs are gone", func() error {
		runs, _, err := d.api.ListReplicas(ctx, client.ReplicaFilter{Namespace: "default", Service: "sixes"})
		if err != nil || len(runs) != 0 {
			return fmt.Errorf("%d runs left (%v)", len(runs), err)
		}
		return nil
	})
}

// TestJobAcrossRestart kills orchd dev (master and agent) with -9 in the
// middle of a job: the runs that were running finish under their shims,
// the restarted agent reports their ends, and each is counted once.
func TestJobAcrossRestart(t *testing.T) {
	d := startDevCluster(t)
	d.loadHello()
	d.applyJob(`
kind: Job
name: steady
image: orch.local/hello:1
command: ["/hello", "exit", "0", "--after", "3s"]
resources: {cpu: 20m, memory: 16Mi}
completions: 4
parallelism: 2
`)
	d.running("steady", 2)
	d.kill9()
	d.start()
	if out, errOut, code := d.orchctl(t, "wait", "job", "steady", "--timeout", "3m"); code != 0 {
		t.Fatalf("wait job steady: exit %d, %q, %q", code, out, errOut)
	}
	job, err := d.api.GetJob(context.Background(), "default", "steady")
	if err != nil {
		t.Fatal(err)
	}
	runs, _, err := d.api.ListReplicas(context.Background(), client.ReplicaFilter{Namespace: "default", Service: "steady"})
	if err != nil {
		t.Fatal(err)
	}
	if st := job.GetStatus().GetJob(); st.GetSucceeded() != 4 || st.GetFailed() != 0 || len(runs) != 4 {
		t.Fatalf("job across a restart: %v with %d runs; want 4 succeeded in 4 runs", st, len(runs))
	}
}

func (d *devCluster) applyJob(yaml string) {
	d.t.Helper()
	spec, err := manifest.ParseOne([]byte(yaml))
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := d.api.ApplyJob(context.Background(), spec, nil); err != nil {
		d.t.Fatal(err)
	}
}
