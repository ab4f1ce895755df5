package hollow_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/hollow"
	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
)

// startFleet joins the hollow nodes, in this process, spread over the
// zones by a zone label, each told all three masters; it waits until the
// leader counts them all ready.
func (c *scaleCluster) startFleet(sz scaleSizes) (*hollow.Fleet, time.Duration, error) {
	var urls []string
	for _, m := range c.masters {
		urls = append(urls, m.url())
	}
	start := time.Now()
	f, err := hollow.Start(c.ctx, hollow.Config{
		Masters: urls, Token: c.agent, Count: sz.nodes, Prefix: "h",
		LabelsFor: func(i int) map[string]string { return map[string]string{"zone": fmt.Sprintf("z%d", i%sz.zones)} },
		Capacity:  &orchpb.ResourceAmounts{CpuMillis: 16000, MemoryBytes: 64 << 30},
		Peers:     sz.peers,
		Logger:    quietLogger(),
	})
	if err != nil {
		return nil, 0, fmt.Errorf("scale: start %d hollow nodes: %w", sz.nodes, err)
	}
	c.b.Cleanup(f.Stop)
	leader, err := c.leader()
	if err != nil {
		return f, 0, err
	}
	err = poll(c.ctx, 10*time.Minute, time.Second, func() error {
		ready, err := c.metric(c.follower(leader), "orch_nodes", map[string]string{"state": "ready"})
		if err == nil && int(ready) != sz.nodes {
			err = fmt.Errorf("%v of %d nodes ready", ready, sz.nodes)
		}
		return err
	})
	return f, time.Since(start), err
}

// place applies every service, 16 at a time, through the leader's API,
// and waits until the leader counts every replica running; meanwhile two
// readers, in a process of their own, time GETs of the services applied so
// far and of their replicas.
func (c *scaleCluster) place(r *scaleReport, f *hollow.Fleet) error {
	leader, err := c.leader()
	if err != nil {
		return err
	}
	changes0, known0 := c.leaderChanges()
	breaks0, _ := f.StreamBreaks()
	defer func() {
		breaks, last := f.StreamBreaks()
		r.placeStreamBreaks = float64(breaks - breaks0)
		if breaks > breaks0 {
			progress("%d assignment streams broke while placing; the last: %v", breaks-breaks0, last)
			progress("broken streams by reason, since the fleet started: %s", reasonsText(f.StreamBreakReasons()))
		}
	}()
	masters0, leader0, self0 := c.mastersCPU(), leader.cpu(), cpuSeconds()
	ctx, stopReads := context.WithCancel(c.ctx)
	done := &appliedSet{}
	served0 := c.servedReads(leader)
	reads := c.startReaders(ctx, leader, done)
	start := time.Now()
	err = c.applyAll(c.api[leader.id], r, done)
	r.applied = time.Since(start)
	progress("applied %d services in %s", r.sizes.services, r.applied)
	if err == nil {
		err = c.waitRunning(c.follower(leader), r.sizes.total())
	}
	r.running = time.Since(start)
	wall := r.running.Seconds()
	r.placeMastersCores = (c.mastersCPU() - masters0) / wall
	r.placeLeaderCores = (leader.cpu() - leader0) / wall
	r.placeHollowCores = (cpuSeconds() - self0) / wall
	r.leaderMem = leader.memory()
	stopReads()
	r.reads, r.readErrors = reads()
	r.served = c.servedReads(leader).sub(served0)
	changes, known := c.leaderChanges()
	r.placeLeaderChanges = changes - changes0
	if !known || !known0 {
		r.placeLeaderChanges = math.NaN() // no master answered: not measured
	}
	if err != nil {
		return fmt.Errorf("%w (Raft leader changes meanwhile: %v)", err, r.placeLeaderChanges)
	}
	return nil
}

// stallLimit is how long placement may go without one more replica
// running before the run gives up on it.
const stallLimit = 3 * time.Minute

// waitRunning polls m's count of running replicas, every 250 ms (m is a
// follower: its store is the leader's, a few milliseconds behind), until
// it reaches total;
// it gives up when the count has not grown for stallLimit, saying how
// many nodes the master counts down (a cluster that cannot keep its nodes
// does not converge).
func (c *scaleCluster) waitRunning(m *scaleMaster, total int) error {
	var best float64
	grew, told := time.Now(), time.Now()
	return poll(c.ctx, 30*time.Minute, 250*time.Millisecond, func() error {
		running, err := c.metric(m, "orch_replicas", map[string]string{"state": "running"})
		if err == nil && int(running) < total {
			err = fmt.Errorf("%v of %d running", running, total)
		}
		if running > best {
			best, grew = running, time.Now()
		}
		if err != nil && time.Since(told) > 10*time.Second {
			progress("%v", err)
			told = time.Now()
		}
		if err != nil && time.Since(grew) > stallLimit {
			return fmt.Errorf("%w: no more replicas running for %s (%s; %s): %w", errScaleStalled, stallLimit, c.nodesDown(), c.notRunning(m), err)
		}
		return err
	})
}

// leaderChanges is the most leader changes a live master has seen.
func (c *scaleCluster) leaderChanges() (float64, bool) {
	var most float64
	known := false
	for _, m := range c.live() {
		if n, err := c.metric(m, "orch_raft_leader_changes_total", nil); err == nil {
			most, known = max(most, n), true
		}
	}
	return most, known
}

// notRunning sums up, from m's API, the replicas that do not run: how
// many in each state and with each message, and a few of them: what a
// stalled placement waits for.
func (c *scaleCluster) notRunning(m *scaleMaster) string {
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	defer cancel()
	reps, _, err := c.api[m.id].ListReplicas(ctx, client.ReplicaFilter{})
	if err != nil {
		return fmt.Sprintf("replicas not listed: %v", err)
	}
	by := map[string]int64{}
	var some []string
	for _, r := range reps {
		if r.Observed() == orchpb.ReplicaRunning || r.Terminal() {
			continue
		}
		by[fmt.Sprintf("desired %s, %s: %s", r.Desired(), r.Observed(), r.GetMessage())]++
		if len(some) < 5 {
			some = append(some, fmt.Sprintf("%s on %q at version %d", r.GetName(), r.GetNode(), r.GetVersion()))
		}
	}
	return fmt.Sprintf("not running, by state:%s\n  e.g. %s", reasonsText(by), strings.Join(some, ", "))
}

// nodesDown says how many nodes the first master that answers counts
// down.
func (c *scaleCluster) nodesDown() string {
	for _, m := range c.live() {
		if n, err := c.metric(m, "orch_nodes", map[string]string{"state": "down"}); err == nil {
			return fmt.Sprintf("%s counts %v nodes down", m.id, n)
		}
	}
	return "no master answers /metrics"
}

// scaleService is service i's manifest: replicas spread over the zones.
func scaleService(i, replicas int) string {
	return fmt.Sprintf("kind: Service\nname: svc-%d\nreplicas: %d\nimage: bench:1\nresources: {cpu: 100m, memory: 64Mi}\n"+
		"placement: {spreadBy: zone}\n", i, replicas)
}

// applyAll applies the services, 16 at a time; an apply that fails (the
// leader lost, say) is tried again, up to 5 times, a second apart: the
// same spec again is harmless.
func (c *scaleCluster) applyAll(api *client.Client, r *scaleReport, done *appliedSet) error {
	var wg sync.WaitGroup
	var retries atomic.Int64
	sem := make(chan struct{}, 16)
	errs := make(chan error, r.sizes.services)
	for i := range r.sizes.services {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			spec, err := manifest.ParseOne([]byte(scaleService(i, r.sizes.replicas)))
			if err != nil {
				errs <- fmt.Errorf("scale: svc-%d: %w", i, err)
				return
			}
			for try := range 5 {
				if try > 0 {
					retries.Add(1)
					time.Sleep(time.Second)
				}
				if _, err = api.ApplyService(c.ctx, spec, nil); err == nil {
					done.add(i)
					return
				}
			}
			errs <- fmt.Errorf("scale: apply svc-%d: %w", i, err)
		}()
	}
	wg.Wait()
	r.applyRetries = int(retries.Load())
	close(errs)
	return <-errs
}

// appliedSet holds the services applied so far, for the readers.
type appliedSet struct {
	mu  sync.Mutex
	ids []int
}

func (a *appliedSet) add(i int) {
	a.mu.Lock()
	a.ids = append(a.ids, i)
	a.mu.Unlock()
}

// since is what was applied after the first n.
func (a *appliedSet) since(n int) []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n >= len(a.ids) {
		return nil
	}
	return append([]int(nil), a.ids[n:]...)
}

// pick is a service applied already, or false when none is yet.
func (a *appliedSet) pick() (int, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.ids) == 0 {
		return 0, false
	}
	return a.ids[rand.IntN(len(a.ids))], true
}
