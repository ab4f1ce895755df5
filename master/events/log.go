// Package events keeps the human event stream of GET /v1/events and
// `orchctl describe`: "web.2 scheduled on node-3", "node n1 down: no
// heartbeat for 3s", "update to generation 4 failed; rolled back".
//
// Events are not written through Raft. Every master derives them from the
// replicated change stream it applies (the store's watch), so each master
// serves the same events without a single extra Raft write: a cluster of
// thousands of nodes must not pay consensus for log lines, and what a
// controller decided is already in the state it wrote (a replica's message,
// a node's state, a service's update status). They live in a bounded ring
// in memory: recent history, lost on restart, like Kubernetes events with a
// short TTL.
//
// It owns the ring and the derivation; it must not write state.
package events

import (
	"strings"
	"sync"
	"time"

	"github.com/orch-io/orch/api"
)

// DefaultSize is how many events a Log keeps.
const DefaultSize = 10000

// Log is a bounded ring of recent events. Safe for concurrent use.
type Log struct {
	now func() time.Time

	mu      sync.Mutex
	buf     []api.ClusterEvent
	next    uint64 // seq of the next event; seqs start at 1
	changed chan struct{}
}

// NewLog keeps the last size events (DefaultSize if size <= 0); now is the
// clock (nil: time.Now).
func NewLog(size int, now func() time.Time) *Log {
	if size <= 0 {
		size = DefaultSize
	}
	if now == nil {
		now = time.Now
	}
	return &Log{now: now, buf: make([]api.ClusterEvent, size), next: 1, changed: make(chan struct{})}
}

// Record appends e, stamping its sequence and (if unset) its time.
func (l *Log) Record(e api.ClusterEvent) {
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	if e.Type == "" {
		e.Type = api.EventNormal
	}
	l.mu.Lock()
	e.Seq = l.next
	l.buf[l.next%uint64(len(l.buf))] = e
	l.next++
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// Filter selects events; empty fields match everything.
type Filter struct {
	Kind      string
	Namespace string
	// Service matches the service and its replicas.
	Service string
	// Replica matches a replica id or display name.
	Replica string
	// Node matches node events and events of replicas on it, by name.
	Node string
}

// Match reports whether e passes f.
func (f Filter) Match(e api.ClusterEvent) bool {
	return (f.Kind == "" || e.Kind == f.Kind) &&
		(f.Namespace == "" || e.Namespace == f.Namespace || e.Kind == "node") &&
		(f.Service == "" || e.Service == f.Service) &&
		(f.Replica == "" || e.ReplicaID == f.Replica || e.Replica == f.Replica) &&
		(f.Node == "" || strings.EqualFold(e.Node, f.Node))
}

// After returns the events matching f with a seq above after, oldest
// first, at most limit of them (the newest ones; 0 = no limit), the seq to
// pass next time, and a channel closed when more arrive.
func (l *Log) After(after uint64, f Filter, limit int) ([]api.ClusterEvent, uint64, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	size := uint64(len(l.buf))
	first := uint64(1)
	if l.next > size {
		first = l.next - size
	}
	if after+1 > first {
		first = after + 1
	}
	var out []api.ClusterEvent
	for seq := first; seq < l.next; seq++ {
		if e := l.buf[seq%size]; f.Match(e) {
			out = append(out, e)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, l.next - 1, l.changed
}
