package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	orchpb "github.com/orch-io/orch/proto"
)

// observation is one version of a replica as the watch delivered it.
type observation struct {
	at  time.Time
	rep *orchpb.Replica
}

// replicaRecorder keeps every version of every replica the cluster's watch
// shows: transitions too short for polling to catch (unhealthy just before
// a restart) are seen, and their timing.
type replicaRecorder struct {
	t   testing.TB
	api *client.Client
	mu  sync.Mutex
	// by replica id, in order
	seen map[string][]observation
	err  error
}

func (d *devCluster) recordReplicas() *replicaRecorder {
	d.t.Helper()
	r := &replicaRecorder{t: d.t, api: d.api, seen: map[string][]observation{}}
	_, index, err := d.api.ListReplicas(context.Background(), client.ReplicaFilter{})
	if err != nil {
		d.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	events, errc := d.api.Watch(ctx, index, "replica")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range events {
			if ev.Type != "put" {
				continue
			}
			rep := &orchpb.Replica{}
			if err := api.Unmarshal(ev.Object, rep); err != nil {
				continue
			}
			r.mu.Lock()
			r.seen[rep.GetId()] = append(r.seen[rep.GetId()], observation{time.Now(), rep})
			r.mu.Unlock()
		}
		err := <-errc
		r.mu.Lock()
		r.err = err
		r.mu.Unlock()
	}()
	d.t.Cleanup(func() { cancel(); <-done })
	return r
}

// history returns what was seen of one replica so far.
func (r *replicaRecorder) history(id string) []observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]observation(nil), r.seen[id]...)
}

// first returns the first observation of id after since that matches, and
// whether there was one.
func (r *replicaRecorder) first(id string, since time.Time, match func(*orchpb.Replica) bool) (observation, bool) {
	for _, o := range r.history(id) {
		if !o.at.Before(since) && match(o.rep) {
			return o, true
		}
	}
	return observation{}, false
}

// await waits until an observation of id after since matches.
func (r *replicaRecorder) await(what, id string, since time.Time, match func(*orchpb.Replica) bool) observation {
	r.t.Helper()
	deadline := time.Now().Add(defaultTimeout)
	for time.Now().Before(deadline) {
		if o, ok := r.first(id, since, match); ok {
			return o
		}
		r.mu.Lock()
		err := r.err
		r.mu.Unlock()
		if err != nil {
			r.t.Fatalf("waiting for %s: the watch ended: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	now, err := r.api.GetReplica(context.Background(), id, "")
	r.t.Fatalf("timed out waiting for %s; %s was seen as:\n%sand the API has it as %v (%v)", what, id, r.describe(id), now, err)
	return observation{}
}

func (r *replicaRecorder) describe(id string) string {
	var b strings.Builder
	for _, o := range r.history(id) {
		fmt.Fprintf(&b, "  %s %s restarts=%d exit=%d %q\n", o.at.Format("15:04:05.000"), o.rep.GetState(), o.rep.GetRestarts(), o.rep.GetExitCode(), o.rep.GetMessage())
	}
	return b.String()
}
