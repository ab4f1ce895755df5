package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// Follow derives events from st's changes into log until ctx ends. It
// lists the state first (a baseline that produces no events), then turns
// every change into the events it means; when its watch ends (it fell
// behind the ring, or a snapshot was restored) it lists again and goes on.
func Follow(ctx context.Context, st *store.Store, log *Log, logger *slog.Logger) {
	if logger == nil {
		logger = slog.Default()
	}
	d := newDeriver(log)
	for ctx.Err() == nil {
		index := st.Index()
		ch, err := st.Watch(ctx, index)
		if err != nil {
			if !errors.Is(err, store.ErrCompacted) {
				logger.Warn("events: watch failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		d.baseline(st)
		for ev := range ch {
			d.apply(ev)
		}
		if ctx.Err() == nil {
			logger.Debug("events: watch ended; listing again", "index", st.Index())
		}
	}
}

// replicaSeen is what the deriver remembers of a replica to tell what
// changed.
type replicaSeen struct {
	namespace, service string
	slot               int32
	node               string
	desired            orchpb.DesiredState
	state              orchpb.ReplicaState
	message            string
	restarts           int32
	// containers are the sidecars' and init containers' restarts, by name
	// (nil for a replica of one container).
	containers map[string]int32
}

type slotKey struct {
	namespace, service string
	slot               int32
}

type serviceSeen struct {
	generation  uint64
	replicas    int32
	updateState orchpb.UpdateState
	// A job's state, or a cron job's last recorded time.
	jobState      orchpb.JobState
	lastScheduled int64
}

// deriver turns store events into human events, remembering just enough
// of each object to tell a transition from a repeat.
type deriver struct {
	log *Log
	// at is when the change being derived was appended to the Raft log, so
	// that a master replaying its log after a restart dates old events
	// truly; zero means now.
	at       time.Time
	replicas map[string]replicaSeen
	bySlot   map[slotKey]map[string]struct{}
	nodes    map[string]*orchpb.Node
	services map[string]serviceSeen
}

func newDeriver(log *Log) *deriver {
	return &deriver{log: log, replicas: map[string]replicaSeen{}, bySlot: map[slotKey]map[string]struct{}{},
		nodes: map[string]*orchpb.Node{}, services: map[string]serviceSeen{}}
}

// baseline forgets everything and remembers the state as it is now.
func (d *deriver) baseline(st *store.Store) {
	d.replicas = map[string]replicaSeen{}
	d.bySlot = map[slotKey]map[string]struct{}{}
	d.nodes = map[string]*orchpb.Node{}
	d.services = map[string]serviceSeen{}
	for _, n := range st.Nodes() {
		d.nodes[n.GetId()] = n
	}
	for _, svc := range st.Services("") {
		d.services[svcName(svc.GetSpec())] = seenService(svc)
	}
	for _, r := range st.AllReplicas() {
		d.remember(r)
	}
}

func (d *deriver) apply(ev store.Event) {
	d.at = ev.Time
	switch o := ev.Object.(type) {
	case *orchpb.Replica:
		if ev.Type == store.EventDelete {
			d.forget(o.GetId())
			return
		}
		d.replica(ev.Index, o)
	case *orchpb.Node:
		d.node(ev.Index, ev.Type, o)
	case *orchpb.Service:
		d.service(ev.Index, ev.Type, o)
	}
}

func (d *deriver) remember(r *orchpb.Replica) {
	d.replicas[r.GetId()] = replicaSeen{namespace: r.GetNamespace(), service: r.GetService(), slot: r.GetSlot(),
		node: r.GetNode(), desired: r.Desired(), state: r.Observed(), message: r.GetMessage(), restarts: r.GetRestarts(),
		containers: containerRestarts(r)}
	k := slotKey{r.GetNamespace(), r.GetService(), r.GetSlot()}
	if d.bySlot[k] == nil {
		d.bySlot[k] = map[string]struct{}{}
	}
	d.bySlot[k][r.GetId()] = struct{}{}
}

func (d *deriver) forget(id string) {
	r, ok := d.replicas[id]
	if !ok {
		return
	}
	delete(d.replicas, id)
	k := slotKey{r.namespace, r.service, r.slot}
	delete(d.bySlot[k], id)
	if len(d.bySlot[k]) == 0 {
		delete(d.bySlot, k)
	}
}

func (d *deriver) nodeName(id string) string {
	if n := d.nodes[id]; n != nil {
		return n.GetName()
	}
	return id
}

func (d *deriver) replica(index uint64, r *orchpb.Replica) {
	prev, known := d.replicas[r.GetId()]
	d.remember(r)
	name := r.DisplayName()
	on := d.nodeName(r.GetNode())
	emit := func(typ, reason, format string, args ...any) {
		d.log.Record(api.ClusterEvent{Index: index, Time: d.at, Type: typ, Reason: reason, Kind: "replica",
			Namespace: r.GetNamespace(), Service: r.GetService(), Replica: name, ReplicaID: r.GetId(),
			Node: on, Message: fmt.Sprintf(format, args...)})
	}
	if !known {
		prev = replicaSeen{desired: orchpb.DesiredRunning, state: orchpb.ReplicaPending}
		if r.Desired() != orchpb.DesiredRunning {
			return
		}
		if r.GetNode() != "" {
			if was := d.replacing(r); was != "" {
				emit(api.EventNormal, "Rescheduled", "%s rescheduled on %s (%s)", name, on, was)
			} else {
				emit(api.EventNormal, "Scheduled", "%s scheduled on %s", name, on)
			}
		}
	} else if prev.node == "" && r.GetNode() != "" {
		emit(api.EventNormal, "Scheduled", "%s scheduled on %s", name, on)
	}
	if r.GetNode() == "" && r.GetMessage() != "" && r.GetMessage() != prev.message && r.Desired() == orchpb.DesiredRunning {
		emit(api.EventWarning, "Unplaced", "%s cannot be placed: %s", name, r.GetMessage())
	}
	if r.Observed() != prev.state {
		switch r.Observed() {
		case orchpb.ReplicaRunning:
			if prev.state == orchpb.ReplicaUnhealthy {
				emit(api.EventNormal, "Healthy", "%s healthy again on %s", name, on)
			} else {
				emit(api.EventNormal, "Started", "%s started on %s", name, on)
			}
		case orchpb.ReplicaUnhealthy:
			emit(api.EventWarning, "Unhealthy", "%s unhealthy on %s%s", name, on, colon(r.GetMessage()))
		case orchpb.ReplicaFailed:
			emit(api.EventWarning, "Failed", "%s failed on %s%s", name, on, colon(r.GetMessage()))
		case orchpb.ReplicaLost:
			emit(api.EventWarning, "Lost", "%s lost%s", name, colon(r.GetMessage()))
		case orchpb.ReplicaStopped:
			emit(api.EventNormal, "Stopped", "%s stopped on %s", name, on)
		}
	} else if r.GetRestarts() > prev.restarts {
		emit(api.EventWarning, "Restarted", "%s restarted on %s (%d restarts)%s", name, on, r.GetRestarts(), colon(r.GetMessage()))
	}
	containerEvents(r, prev.containers, func(format string, args ...any) {
		emit(api.EventWarning, "ContainerRestarted", "%s: "+format+" on %s", append(append([]any{name}, args...), on)...)
	})
	if prev.desired == orchpb.DesiredRunning && r.Desired() == orchpb.DesiredStopped && r.GetNode() != "" && !r.Terminal() {
		if strings.HasPrefix(r.GetMessage(), orchpb.PreemptedBy) {
			emit(api.EventWarning, "Preempted", "%s on %s stopping: %s", name, on, r.GetMessage())
		} else {
			emit(api.EventNormal, "Stopping", "%s on %s stopping%s", name, on, colon(r.GetMessage()))
		}
		d.drained(index, r.GetNode())
	}
}

// replacing describes the replica of the same slot that r replaces, if
// one was lost or failed: what makes a placement a rescheduling.
func (d *deriver) replacing(r *orchpb.Replica) string {
	for id := range d.bySlot[slotKey{r.GetNamespace(), r.GetService(), r.GetSlot()}] {
		old := d.replicas[id]
		if id == r.GetId() {
			continue
		}
		switch old.state {
		case orchpb.ReplicaLost, orchpb.ReplicaFailed:
			return fmt.Sprintf("%s on %s was %s", id, d.nodeName(old.node), old.state)
		}
	}
	return ""
}

// drained notes a draining node that has nothing left to move.
func (d *deriver) drained(index uint64, nodeID string) {
	n := d.nodes[nodeID]
	if n.Status() != orchpb.NodeDraining {
		return
	}
	for _, r := range d.replicas {
		if r.node == nodeID && r.desired == orchpb.DesiredRunning && r.state != orchpb.ReplicaLost &&
			r.state != orchpb.ReplicaFailed && r.state != orchpb.ReplicaStopped {
			return
		}
	}
	d.log.Record(api.ClusterEvent{Index: index, Time: d.at, Reason: "Drained", Kind: "node", Node: n.GetName(),
		Message: "node " + n.GetName() + " drained: every replica has moved off"})
}

func (d *deriver) node(index uint64, typ string, n *orchpb.Node) {
	prev := d.nodes[n.GetId()]
	emit := func(t, reason, format string, args ...any) {
		d.log.Record(api.ClusterEvent{Index: index, Time: d.at, Type: t, Reason: reason, Kind: "node", Node: n.GetName(),
			Message: fmt.Sprintf(format, args...)})
	}
	if typ == store.EventDelete {
		delete(d.nodes, n.GetId())
		emit(api.EventWarning, "Removed", "node %s removed", n.GetName())
		return
	}
	d.nodes[n.GetId()] = n
	if prev == nil {
		emit(api.EventNormal, "Registered", "node %s joined at %s (%s)", n.GetName(), n.GetAddress(), capacityText(n))
		return
	}
	if prev.Status() == n.Status() {
		return
	}
	switch n.Status() {
	case orchpb.NodeDown:
		emit(api.EventWarning, "NodeDown", "node %s down: its agent stopped reporting; its replicas are lost and replaced", n.GetName())
	case orchpb.NodeReady:
		if prev.Status() == orchpb.NodeDown {
			emit(api.EventNormal, "NodeReady", "node %s is back", n.GetName())
		} else {
			emit(api.EventNormal, "Uncordoned", "node %s takes replicas again", n.GetName())
		}
	case orchpb.NodeCordoned:
		emit(api.EventNormal, "Cordoned", "node %s cordoned: it takes no new replicas", n.GetName())
	case orchpb.NodeDraining:
		emit(api.EventNormal, "Draining", "node %s draining: its replicas move elsewhere, each replacement first", n.GetName())
	}
}

func (d *deriver) service(index uint64, typ string, svc *orchpb.Service) {
	spec := svc.GetSpec()
	key := svcName(spec)
	prev, known := d.services[key]
	emit := func(t, reason, format string, args ...any) {
		d.log.Record(api.ClusterEvent{Index: index, Time: d.at, Type: t, Reason: reason, Kind: "service",
			Namespace: spec.GetNamespace(), Service: spec.GetName(), Message: fmt.Sprintf(format, args...)})
	}
	if spec.IsJob() {
		d.job(index, typ, svc)
		return
	}
	if typ == store.EventDelete {
		delete(d.services, key)
		emit(api.EventNormal, "Deleted", "service %s deleted", key)
		return
	}
	now := seenService(svc)
	d.services[key] = now
	u := svc.GetUpdate()
	switch {
	case !known:
		emit(api.EventNormal, "Created", "service %s created (generation %d)", key, svc.GetGeneration())
		return
	case now.generation != prev.generation && u.GetRollback():
		emit(api.EventWarning, "RollingBack", "rolling back to the previous spec as generation %d%s", svc.GetGeneration(), colon(u.GetMessage()))
		return
	case now.generation != prev.generation:
		emit(api.EventNormal, "UpdateStarted", "update to generation %d started", svc.GetGeneration())
		return
	case now.replicas != prev.replicas:
		emit(api.EventNormal, "Scaled", "scaled from %d to %d replicas", prev.replicas, now.replicas)
	}
	if now.updateState == prev.updateState {
		return
	}
	switch now.updateState {
	case orchpb.UpdateCompleted:
		emit(api.EventNormal, "UpdateCompleted", "generation %d rolled out%s", svc.GetGeneration(), colon(u.GetMessage()))
	case orchpb.UpdateRolledBack:
		emit(api.EventWarning, "RolledBack", "rolled back as generation %d%s", svc.GetGeneration(), colon(u.GetMessage()))
	case orchpb.UpdatePaused:
		emit(api.EventWarning, "UpdatePaused", "update to generation %d paused%s", svc.GetGeneration(), colon(u.GetMessage()))
	case orchpb.UpdateFailed:
		emit(api.EventWarning, "UpdateFailed", "update to generation %d failed%s", svc.GetGeneration(), colon(u.GetMessage()))
	}
}

func seenService(svc *orchpb.Service) serviceSeen {
	return serviceSeen{generation: svc.GetGeneration(), replicas: svc.GetSpec().GetReplicas(), updateState: svc.GetUpdate().RolloutState(),
		jobState: svc.GetJob().JobState(), lastScheduled: svc.GetJob().GetLastScheduledTime()}
}

// job derives a job's events: created, ended, deleted; and a cron job's
// skipped times. A run's end is its replica's event; counting it is not news.
func (d *deriver) job(index uint64, typ string, svc *orchpb.Service) {
	spec := svc.GetSpec()
	key := svcName(spec)
	emit := func(t, reason, format string, args ...any) {
		d.log.Record(api.ClusterEvent{Index: index, Time: d.at, Type: t, Reason: reason, Kind: "job",
			Namespace: spec.GetNamespace(), Service: spec.GetName(), Message: fmt.Sprintf(format, args...)})
	}
	what := "job"
	if svc.GetSpec().IsCronJob() {
		what = "cron job"
	}
	if typ == store.EventDelete {
		delete(d.services, key)
		emit(api.EventNormal, "Deleted", "%s %s deleted", what, key)
		return
	}
	prev, known := d.services[key]
	now := seenService(svc)
	d.services[key] = now
	st := svc.GetJob()
	switch {
	case !known && st.GetCronJob() != "":
		emit(api.EventNormal, "Created", "job %s created by cron job %s for %s", key, st.GetCronJob(),
			time.Unix(st.GetScheduledTime(), 0).UTC().Format(time.RFC3339))
	case !known:
		emit(api.EventNormal, "Created", "%s %s created", what, key)
	case now.jobState != prev.jobState && now.jobState == orchpb.JobSucceeded:
		emit(api.EventNormal, "JobSucceeded", "job %s succeeded: %s", key, st.GetMessage())
	case now.jobState != prev.jobState && now.jobState == orchpb.JobFailed:
		emit(api.EventWarning, "JobFailed", "job %s failed: %s", key, st.GetMessage())
	case now.lastScheduled != prev.lastScheduled && st.GetMessage() != "":
		emit(api.EventWarning, "Skipped", "%s", st.GetMessage())
	}
}

func svcName(spec *orchpb.ServiceSpec) string { return spec.GetNamespace() + "/" + spec.GetName() }

func colon(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func capacityText(n *orchpb.Node) string {
	c := n.GetCapacity()
	return fmt.Sprintf("%gcpu, %dMi", float64(c.GetCpuMillis())/1000, c.GetMemoryBytes()>>20)
}
