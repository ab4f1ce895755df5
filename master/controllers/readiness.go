package controllers

import (
	"sync"
	"time"

	orchpb "github.com/orch-io/orch/proto"
)

// Readiness remembers, in the leader's memory, since when each replica has
// been running without a break as this leader saw it. A rolling update
// counts a new replica only once it has been running (healthy: the agent
// reports a replica whose health check fails as unhealthy) for
// update.minHealthy, and the update controller uses the same clock for
// update.deadline.
//
// It is not replicated: a new leader starts every clock afresh, which only
// makes it wait longer, never count a replica too early. It is safe for
// concurrent use; the service and update controllers share one.
type Readiness struct {
	now func() time.Time

	mu    sync.Mutex
	since map[string]runningSince
	// seen is when the leader first saw each replica, for deadlines.
	seen map[string]time.Time
}

// runningSince is one unbroken run: a restart (restarts or started_at
// changing) starts a new one even if no report in between said so.
type runningSince struct {
	at        time.Time
	restarts  int32
	startedAt int64
}

// NewReadiness returns an empty tracker; now is the clock (nil: time.Now).
func NewReadiness(now func() time.Time) *Readiness {
	if now == nil {
		now = time.Now
	}
	return &Readiness{now: now, since: map[string]runningSince{}, seen: map[string]time.Time{}}
}

// Observe records the state of every replica in all, the complete list,
// and forgets replicas no longer in it.
func (r *Readiness) Observe(all []*orchpb.Replica) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observe(now, all)
	forgetGone(r.seen, all, func(id string) { delete(r.since, id) })
}

// ObserveSome records the state of some replicas (those of the services a
// pass revisits) and forgets nothing; the next Observe does.
func (r *Readiness) ObserveSome(reps []*orchpb.Replica) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observe(now, reps)
}

func (r *Readiness) observe(now time.Time, reps []*orchpb.Replica) {
	for _, rep := range reps {
		id := rep.GetId()
		if _, ok := r.seen[id]; !ok {
			r.seen[id] = now
		}
		if rep.Observed() != orchpb.ReplicaRunning {
			delete(r.since, id)
			continue
		}
		s, ok := r.since[id]
		if !ok || s.restarts != rep.GetRestarts() || s.startedAt != rep.GetStartedAt() {
			r.since[id] = runningSince{at: now, restarts: rep.GetRestarts(), startedAt: rep.GetStartedAt()}
		}
	}
}

// Ready reports whether rep has been running for at least d. With d = 0 a
// replica counts the moment it runs, even before Observe has seen it.
func (r *Readiness) Ready(rep *orchpb.Replica, d time.Duration) bool {
	ready, _ := r.ReadyAt(rep, d)
	return ready
}

// ReadyAt is Ready and, for a replica that runs but not for d yet, when it
// will have if it keeps running (zero otherwise). A running replica
// Observe has not seen yet will be ready d from now at the earliest.
func (r *Readiness) ReadyAt(rep *orchpb.Replica, d time.Duration) (bool, time.Time) {
	if rep.Observed() != orchpb.ReplicaRunning {
		return false, time.Time{}
	}
	if d <= 0 {
		return true, time.Time{}
	}
	r.mu.Lock()
	s, ok := r.since[rep.GetId()]
	r.mu.Unlock()
	now := r.now()
	if !ok || s.restarts != rep.GetRestarts() || s.startedAt != rep.GetStartedAt() {
		return false, now.Add(d)
	}
	if at := s.at.Add(d); now.Before(at) {
		return false, at
	}
	return true, time.Time{}
}

// FirstSeen is when this leader first observed rep (now, if never).
func (r *Readiness) FirstSeen(rep *orchpb.Replica) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.seen[rep.GetId()]; ok {
		return t
	}
	return r.now()
}

// Now is the tracker's clock.
func (r *Readiness) Now() time.Time { return r.now() }
