package events

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protojson"
)

func TestLogRingAndFilter(t *testing.T) {
	l := NewLog(3, nil)
	for _, r := range []string{"a", "b", "c", "d"} {
		l.Record(api.ClusterEvent{Reason: r, Kind: "replica", Service: "web", Node: "n" + r})
	}
	got, next, _ := l.After(0, Filter{}, 0)
	if reasons(got) != "b c d" || next != 4 {
		t.Fatalf("after 0: %q next %d, want the last 3 (b c d) and next 4", reasons(got), next)
	}
	if got, _, _ := l.After(2, Filter{}, 0); reasons(got) != "c d" {
		t.Errorf("after 2: %q", reasons(got))
	}
	if got, _, _ := l.After(0, Filter{}, 1); reasons(got) != "d" {
		t.Errorf("limit 1: %q, want the newest", reasons(got))
	}
	if got, _, _ := l.After(0, Filter{Node: "NC"}, 0); reasons(got) != "c" {
		t.Errorf("node filter: %q", reasons(got))
	}
	_, _, wait := l.After(4, Filter{}, 0)
	select {
	case <-wait:
		t.Fatal("woken with nothing new")
	default:
	}
	l.Record(api.ClusterEvent{Reason: "e"})
	select {
	case <-wait:
	case <-time.After(time.Second):
		t.Fatal("not woken by a new event")
	}
}

func reasons(evs []api.ClusterEvent) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Reason)
	}
	return strings.Join(s, " ")
}

// deriving is a store whose changes a deriver turns into events: apply
// applies a command in its protojson form, events waits for n events.
type deriving struct {
	t       *testing.T
	st      *store.Store
	log     *Log
	d       *deriver
	index   uint64
	changes <-chan store.Event
}

func newDeriving(t *testing.T) *deriving {
	x := &deriving{t: t, st: store.New(), log: NewLog(0, nil)}
	x.apply(`{"registerNode": {"node": {"id": "n0", "name": "zero"}}}`) // in the baseline: no event
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	x.d = newDeriver(x.log)
	from := x.st.Index()
	x.d.baseline(x.st)
	changes, err := x.st.Watch(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	x.changes = changes
	return x
}

func (x *deriving) apply(js string) {
	x.t.Helper()
	cmd := &orchpb.Command{}
	if err := protojson.Unmarshal([]byte(js), cmd); err != nil {
		x.t.Fatal(err)
	}
	x.index++
	if res := x.st.Apply(x.index, cmd); res.GetErrorCode() != "" {
		x.t.Fatalf("%s: %s", js, res.GetError())
	}
}

func (x *deriving) events(n int) []api.ClusterEvent {
	x.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		if got, _, _ := x.log.After(0, Filter{}, 0); len(got) >= n {
			return got
		}
		select {
		case ev := <-x.changes:
			x.d.apply(ev)
		case <-timeout:
			got, _, _ := x.log.After(0, Filter{}, 0)
			return got
		}
	}
}

// sentences checks the events' subjects, reasons and messages.
func sentences(t *testing.T, got []api.ClusterEvent, want []string) {
	t.Helper()
	var lines []string
	for _, e := range got {
		lines = append(lines, e.Subject()+" "+e.Reason+" "+e.Message)
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestDerivedEvents drives a store through a small life (a node joins, a
// service is placed and runs, the node goes down and a replacement is
// scheduled, an update fails and rolls back) and checks the sentences.
func TestDerivedEvents(t *testing.T) {
	x := newDeriving(t)
	apply := x.apply
	apply(`{"registerNode": {"node": {"id": "n1", "name": "one", "address": "10.0.0.1", "capacity": {"cpuMillis": "2000", "memoryBytes": "1073741824"}}}}`)
	apply(`{"registerNode": {"node": {"id": "n2", "name": "two"}}}`)
	apply(`{"putService": {"spec": {"kind": "Service", "namespace": "default", "name": "web", "replicas": 1, "image": "web:1"}}}`)
	apply(`{"putReplicas": {"replicas": [{"id": "r1", "namespace": "default", "service": "web", "slot": 1, "node": "n1", "desiredState": "running", "state": "assigned", "generation": "1"}]}}`)
	apply(`{"reportReplicaStatus": {"nodeId": "n1", "statuses": [{"id": "r1", "state": "running"}]}}`)
	apply(`{"reportReplicaStatus": {"nodeId": "n1", "statuses": [{"id": "r1", "state": "running", "containers": [{"name": "proxy", "kind": "sidecar", "state": "running", "restarts": 1, "exitCode": 7}]}]}}`)
	apply(`{"setNodeState": {"nodeId": "n1", "state": "down", "availability": true, "reason": "no heartbeat for 3s"}}`)
	apply(`{"putReplicas": {"replicas": [{"id": "r2", "namespace": "default", "service": "web", "slot": 1, "node": "n2", "desiredState": "running", "state": "assigned", "generation": "1"}]}}`)
	apply(`{"putService": {"spec": {"kind": "Service", "namespace": "default", "name": "web", "replicas": 1, "image": "web:2"}}}`)
	apply(`{"rollbackService": {"namespace": "default", "name": "web", "reason": "web.1 not running within 2m"}}`)
	apply(`{"setNodeState": {"nodeId": "n2", "state": "draining"}}`)
	got := x.events(12)
	want := []string{
		"node one Registered node one joined at 10.0.0.1 (2cpu, 1024Mi)",
		"node two Registered node two joined at  (0cpu, 0Mi)",
		"service default/web Created service default/web created (generation 1)",
		"replica web.1 Scheduled web.1 scheduled on one",
		"replica web.1 Started web.1 started on one",
		"replica web.1 ContainerRestarted web.1: sidecar proxy restarted after exit 7 (1 restarts) on one",
		"node one NodeDown node one down: its agent stopped reporting; its replicas are lost and replaced",
		"replica web.1 Lost web.1 lost: node one down: no heartbeat for 3s",
		"replica web.1 Rescheduled web.1 rescheduled on two (r1 on one was lost)",
		"service default/web UpdateStarted update to generation 2 started",
		"service default/web RollingBack rolling back to the previous spec as generation 3: web.1 not running within 2m",
		"node two Draining node two draining: its replicas move elsewhere, each replacement first",
	}
	sentences(t, got, want)
	if got[7].Type != api.EventWarning || got[7].Index != 8 || got[7].Node != "one" {
		t.Errorf("lost event %+v: want a warning at index 8 on node one", got[7])
	}
}

// TestDerivedJobEvents: a job is created, its run fails, the job fails.
func TestDerivedJobEvents(t *testing.T) {
	x := newDeriving(t)
	x.apply(`{"putJob": {"spec": {"kind": "Job", "namespace": "default", "name": "once", "image": "job:1", "backoffLimit": 0}}}`)
	x.apply(`{"putReplicas": {"replicas": [{"id": "j1", "namespace": "default", "service": "once", "slot": 1, "node": "n0", "desiredState": "running", "state": "assigned", "spec": {"kind": "Job", "name": "once"}}]}}`)
	x.apply(`{"reportReplicaStatus": {"nodeId": "n0", "statuses": [{"id": "j1", "state": "failed", "exitCode": 3, "message": "exited 3"}]}}`)
	sentences(t, x.events(4), []string{
		"job default/once Created job default/once created",
		"replica once.1 Scheduled once.1 scheduled on zero",
		"job default/once JobFailed job default/once failed: failed runs: 1, more than backoffLimit 0; the last: once.1 exited 3",
		"replica once.1 Failed once.1 failed on zero: exited 3",
	})
}

// TestFollowKeepsUp: Follow itself, end to end, including a restore that
// ends its watch.
func TestFollowKeepsUp(t *testing.T) {
	st := store.New()
	log := NewLog(0, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Follow(ctx, st, log, nil); close(done) }()
	defer func() { cancel(); <-done }()
	var index uint64
	register := func(id string) {
		index++
		st.Apply(index, &orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: &orchpb.Node{Id: id, Name: id}}}})
	}
	count := func() int {
		got, _, _ := log.After(0, Filter{Kind: "node"}, 0)
		return len(got)
	}
	// Follow may start after the first registrations: keep adding nodes
	// until one is told, then once more after a restore.
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; count() == 0 && time.Now().Before(deadline); i++ {
		register(fmt.Sprint("before-", i))
		time.Sleep(10 * time.Millisecond)
	}
	if count() == 0 {
		t.Fatal("no event for a node registered while following")
	}
	st.Restore(st.Snapshot())
	n := count()
	for i := 0; count() == n && time.Now().Before(deadline); i++ {
		register(fmt.Sprint("after-", i))
		time.Sleep(10 * time.Millisecond)
	}
	if count() == n {
		t.Fatal("no event after a restore ended the watch")
	}
}

// TestEventsCarryTheLogTime: an event is dated when the leader appended its
// change to the Raft log, not when this master derived it, so a master
// replaying its log after a restart shows true ages.
func TestEventsCarryTheLogTime(t *testing.T) {
	st := store.New()
	log := NewLog(0, func() time.Time { return time.Unix(2_000_000_000, 0) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Follow(ctx, st, log, nil)
	appended := time.Unix(1_700_000_000, 0)
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Follow lists before it watches: apply until a change lands after.
		i := st.Index() + 1
		st.ApplyAt(i, appended, &orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{
			Node: &orchpb.Node{Id: fmt.Sprint("n", i), Name: fmt.Sprint("node-", i), State: string(orchpb.NodeReady)}}}})
		if got, _, _ := log.After(0, Filter{}, 0); len(got) > 0 {
			if !got[0].Time.Equal(appended) {
				t.Fatalf("event %q dated %s, want the log's %s", got[0].Message, got[0].Time, appended)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no event derived")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
