package hollow_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	orchpb "github.com/orch-io/orch/proto"
)

// leaderKill kills the leader's process (SIGKILL, by PID) and times until
// a write (a config put) succeeds through a surviving master, and until
// the survivors together hold an assignment stream of every live node.
// Then it compares every running replica (but the dead node's) with what
// ran before: one whose node or start time changed was restarted.
func (c *scaleCluster) leaderKill(r *scaleReport, dead string) error {
	leader, err := c.leader()
	if err != nil {
		return err
	}
	before, err := c.runningSet(c.api[leader.id], r.sizes.services, dead)
	if err != nil {
		return err
	}
	killed := time.Now()
	leader.kill9()
	survivors := c.live()
	attempt := 0
	err = poll(c.ctx, 2*time.Minute, 100*time.Millisecond, func() error {
		attempt++
		m := survivors[attempt%len(survivors)]
		ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
		defer cancel()
		_, err := c.api[m.id].PutConfig(ctx, &api.ConfigManifest{Name: "scale-probe", Data: map[string]string{"n": strconv.Itoa(attempt)}})
		return err
	})
	r.killWrites = time.Since(killed)
	if err != nil {
		return fmt.Errorf("scale: no write after the leader kill: %w", err)
	}
	if err := c.reconnected(r, killed); err != nil {
		return err
	}
	time.Sleep(5 * time.Second) // let the reports of any restart arrive
	if leader, err = c.leader(); err != nil {
		return err
	}
	after, err := c.runningSet(c.api[leader.id], r.sizes.services, dead)
	if err != nil {
		return err
	}
	for id, run := range before {
		if after[id] != run {
			r.killRestarted++
		}
	}
	return nil
}

// reconnected waits until the survivors' open assignment streams count
// every live node, noting the most nodes the leader counted down meanwhile
// (the node killed earlier is one).
func (c *scaleCluster) reconnected(r *scaleReport, killed time.Time) error {
	want := float64(r.sizes.nodes - 1)
	err := poll(c.ctx, 5*time.Minute, 250*time.Millisecond, func() error {
		var streams float64
		for _, m := range c.live() {
			n, err := c.metric(m, "orch_dispatcher_streams", map[string]string{"kind": "assignments"})
			if err != nil {
				return err
			}
			streams += n
			if down, err := c.metric(m, "orch_nodes", map[string]string{"state": "down"}); err == nil {
				r.killDownMax = max(r.killDownMax, int(down))
			}
		}
		if streams != want {
			return fmt.Errorf("%v of %v nodes hold a stream", streams, want)
		}
		return nil
	})
	r.killReconnected = time.Since(killed)
	return err
}

// runningSet lists every service's replicas (4 lists at a time) and
// answers, for each running one not on the dead node, where and since
// when it runs.
func (c *scaleCluster) runningSet(api *client.Client, services int, dead string) (map[string]string, error) {
	var mu sync.Mutex
	out := map[string]string{}
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range services {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			reps, _, err := api.ListReplicas(c.ctx, client.ReplicaFilter{Namespace: "default", Service: fmt.Sprintf("svc-%d", i)})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			for _, rep := range reps {
				if rep.Observed() == orchpb.ReplicaRunning && rep.GetNode() != dead {
					out[rep.GetId()] = fmt.Sprintf("%s@%d#%d", rep.GetNode(), rep.GetStartedAt(), rep.GetRestarts())
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("scale: list the running replicas: %w", err)
	}
	return out, nil
}
