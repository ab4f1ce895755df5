package events

import (
	"context"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestPreemptedEvent: a replica stopped to make room for a higher
// priority says so in a warning naming the preemptor's service.
func TestPreemptedEvent(t *testing.T) {
	st := store.New()
	log := NewLog(0, nil)
	var index uint64
	apply := func(js string) {
		t.Helper()
		cmd := &orchpb.Command{}
		if err := protojson.Unmarshal([]byte(js), cmd); err != nil {
			t.Fatal(err)
		}
		index++
		if res := st.Apply(index, cmd); res.GetErrorCode() != "" {
			t.Fatalf("%s: %s", js, res.GetError())
		}
	}
	apply(`{"registerNode": {"node": {"id": "n1", "name": "one"}}}`)
	apply(`{"putService": {"spec": {"kind": "Service", "namespace": "default", "name": "batch", "replicas": 1, "image": "b:1"}}}`)
	apply(`{"putReplicas": {"replicas": [{"id": "r1", "namespace": "default", "service": "batch", "slot": 1, "node": "n1", "desiredState": "running", "state": "running", "generation": "1"}]}}`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := newDeriver(log)
	from := st.Index()
	d.baseline(st)
	changes, err := st.Watch(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	apply(`{"putReplicas": {"replicas": [{"id": "r1", "namespace": "default", "service": "batch", "slot": 1, "node": "n1", "desiredState": "stopped", "state": "running", "generation": "1", "message": "preempted by service api"}]}}`)
	timeout := time.After(5 * time.Second)
	for {
		if got, _, _ := log.After(0, Filter{}, 0); len(got) > 0 {
			e := got[0]
			if e.Reason != "Preempted" || e.Type != api.EventWarning || e.Message != "batch.1 on one stopping: preempted by service api" {
				t.Fatalf("event %+v, want a Preempted warning naming api", e)
			}
			return
		}
		select {
		case ev := <-changes:
			d.apply(ev)
		case <-timeout:
			t.Fatal("no event")
		}
	}
}
