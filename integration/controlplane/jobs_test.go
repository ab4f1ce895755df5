package controlplane

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/hollow"
	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
)

// jobCluster is three masters, hollow nodes whose job runs take a while,
// and clients: one that fails over across every master, and one per
// master.
type jobCluster struct {
	*cluster
	leader *master
	any    *client.Client
}

func newJobCluster(t *testing.T) *jobCluster {
	c := newCluster(t, 3)
	leader := c.leader()
	var urls []string
	for _, m := range c.masters {
		urls = append(urls, m.url())
	}
	any, err := client.New(&client.Config{Server: strings.Join(urls, ","), Token: c.admin, CA: string(c.ca)})
	if err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(filepath.Join(c.masters[0].dir, "agent.token"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	fleet, err := hollow.Start(ctx, hollow.Config{Masters: urls, Token: strings.TrimSpace(string(token)), Count: 3, Prefix: "j",
		HeartbeatInterval: 200 * time.Millisecond, JobRunTime: 300 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fleet.Stop)
	return &jobCluster{cluster: c, leader: leader, any: any}
}

// follower is a client of one master that is not the leader: its watch
// goes on while the leader dies.
func (c *jobCluster) follower() *client.Client {
	c.t.Helper()
	for _, m := range c.masters {
		if m != c.leader {
			cl, err := client.New(&client.Config{Server: m.url(), Token: c.admin, CA: string(c.ca)})
			if err != nil {
				c.t.Fatal(err)
			}
			return cl
		}
	}
	c.t.Fatal("no follower")
	return nil
}

func (c *jobCluster) putJob(yaml string) {
	c.t.Helper()
	spec, err := manifest.ParseOne([]byte(yaml))
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.any.ApplyJob(context.Background(), spec, nil); err != nil {
		c.t.Fatal(err)
	}
}

func (c *jobCluster) job(name string) *orchpb.JobStatus {
	j, err := c.any.GetJob(context.Background(), "default", name)
	if err != nil {
		return nil
	}
	return j.GetStatus().GetJob()
}

// TestJobAcrossLeaderKill kills the leader in the middle of a job on
// hollow nodes: the job still succeeds with exactly its completions, no
// failed run, and as many distinct runs ended well as were counted (a run
// counted twice would end it one run early).
func TestJobAcrossLeaderKill(t *testing.T) {
	c := newJobCluster(t)
	fol := c.follower()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, index, err := fol.ListReplicas(ctx, client.ReplicaFilter{Namespace: "default", Service: "steady"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	succeeded := map[string]bool{}
	events, _ := fol.Watch(ctx, index, api.KindReplica)
	go func() {
		for ev := range events {
			r := &orchpb.Replica{}
			if api.UnmarshalObject(ev.Object, r) != nil || r.GetService() != "steady" || r.Desired() != orchpb.DesiredRunning {
				continue
			}
			if ended, ok := r.RunEnded(); ended && ok {
				mu.Lock()
				succeeded[r.GetId()] = true
				mu.Unlock()
			}
		}
	}()
	const completions = 30
	c.putJob(fmt.Sprintf("kind: Job\nname: steady\nimage: hello:1\ncompletions: %d\nparallelism: 3\n", completions))
	c.eventually("10 runs succeeded", func() error {
		if st := c.job("steady"); st.GetSucceeded() < 10 {
			return fmt.Errorf("job %v", st)
		}
		return nil
	})
	if st := c.job("steady"); st.Ended() {
		t.Fatalf("the job ended before the leader was killed: %v", st)
	}
	c.leader.kill9()
	c.eventually("the job ends", func() error {
		if st := c.job("steady"); !st.Ended() {
			return fmt.Errorf("job %v", st)
		}
		return nil
	})
	st := c.job("steady")
	if st.JobState() != orchpb.JobSucceeded || st.GetSucceeded() != completions || st.GetFailed() != 0 {
		t.Fatalf("job across a leader kill: %v, want %d succeeded and none failed", st, completions)
	}
	c.eventually(fmt.Sprintf("%d distinct runs seen ending well", completions), func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(succeeded) != completions {
			return fmt.Errorf("%d distinct runs ended well, the job counted %d", len(succeeded), completions)
		}
		return nil
	})
}

// TestCronJobAcrossLeaderKill runs a cron job every second across a leader
// kill: every scheduled time makes one job, created once (a second
// creation of a name, after the history limit deleted the first, would be
// a time run twice), and times after the kill still make jobs.
func TestCronJobAcrossLeaderKill(t *testing.T) {
	c := newJobCluster(t)
	fol := c.follower()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, index, err := fol.ListJobs(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	created := map[string]map[uint64]bool{} // job name -> create indexes seen
	latest := int64(0)
	events, _ := fol.Watch(ctx, index, api.KindService)
	go func() {
		for ev := range events {
			svc := &orchpb.Service{}
			if api.UnmarshalObject(ev.Object, svc) != nil || svc.GetStatus().GetJob().GetCronJob() != "tick" {
				continue
			}
			mu.Lock()
			name := svc.GetSpec().GetName()
			if created[name] == nil {
				created[name] = map[uint64]bool{}
			}
			created[name][svc.GetCreateIndex()] = true
			latest = max(latest, svc.GetStatus().GetJob().GetScheduledTime())
			mu.Unlock()
		}
	}()
	jobs := func() (int, int64) {
		mu.Lock()
		defer mu.Unlock()
		return len(created), latest
	}
	c.putJob("kind: Job\nname: tick\nimage: hello:1\nschedule: '* * * * * *'\nconcurrencyPolicy: allow\n")
	c.eventually("3 jobs made", func() error {
		if n, _ := jobs(); n < 3 {
			return fmt.Errorf("%d jobs", n)
		}
		return nil
	})
	killed := time.Now()
	c.leader.kill9()
	c.eventually("3 jobs made for times after the kill", func() error {
		if _, last := jobs(); last < killed.Unix()+3 {
			return fmt.Errorf("latest scheduled time %d, killed at %d", last, killed.Unix())
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for name, indexes := range created {
		if len(indexes) != 1 {
			t.Errorf("job %s was created %d times (create indexes %v): its time ran twice", name, len(indexes), indexes)
		}
	}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }
