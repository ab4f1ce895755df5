package controllers

import (
	"time"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// readyWakes are the services whose last pass waited on a replica that
// runs but has not run for update.minHealthy yet, each with the earliest
// time one of them will have. Nothing is written when that time comes, so
// no change would bring the service back: the service controller revisits
// it then, instead of passing over every service every second (at 150,000
// replicas a full pass is a tenth of a core, spent mostly on services that
// wait for nothing). Only the controller's own goroutine (its passes and
// its Run loop) uses it.
type readyWakes struct {
	at map[store.ServiceKey]time.Time
}

// add records that rep's service needs another look at at.
func (w *readyWakes) add(rep *orchpb.Replica, at time.Time) {
	key := store.ServiceKey{Namespace: rep.GetNamespace(), Name: rep.GetService()}
	if w.at == nil {
		w.at = map[store.ServiceKey]time.Time{}
	}
	if was, ok := w.at[key]; !ok || at.Before(was) {
		w.at[key] = at
	}
}

// due removes and returns the services whose time has come by now.
func (w *readyWakes) due(now time.Time) []store.ServiceKey {
	var out []store.ServiceKey
	for key, at := range w.at {
		if !at.After(now) {
			out = append(out, key)
			delete(w.at, key)
		}
	}
	return out
}

// next is the earliest time recorded (false when there is none).
func (w *readyWakes) next() (time.Time, bool) {
	var first time.Time
	for _, at := range w.at {
		if first.IsZero() || at.Before(first) {
			first = at
		}
	}
	return first, !first.IsZero()
}

// reset forgets every service: a pass over all of them records again
// those that still wait.
func (w *readyWakes) reset() {
	clear(w.at)
}

// readyOrWake is the pass's Env.Ready: Readiness.Ready, recording when a
// running replica that is not ready yet will be.
func (c *ServiceController) readyOrWake(rep *orchpb.Replica, d time.Duration) bool {
	ready, at := c.ready.ReadyAt(rep, d)
	if !ready && !at.IsZero() {
		c.wakes.add(rep, at)
	}
	return ready
}

// armWake sets t to fire when the earliest recorded service is due, or
// stops it when none is.
func (c *ServiceController) armWake(t *time.Timer) {
	t.Stop()
	if at, ok := c.wakes.next(); ok {
		t.Reset(max(at.Sub(c.ready.Now()), time.Millisecond))
	}
}
