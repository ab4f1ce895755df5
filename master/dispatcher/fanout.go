package dispatcher

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// fanout wakes only the assignment streams whose set may have changed: a
// replica change wakes the stream of the replica's node, a node change
// wakes the streams that carry peers. One store watch serves every stream,
// so that a change costs one set computation for each node it concerns,
// not one for each of thousands of connected nodes. It runs while at least
// one stream is subscribed.
type fanout struct {
	st     *store.Store
	runner whileUsed

	mu     sync.Mutex
	byNode map[string]map[*subscriber]struct{}
	peers  map[*subscriber]struct{}
	table  peerTable
}

type subscriber struct {
	node  string
	peers bool
	ch    chan struct{}
	// own is set when the node's own set (not only the peers) may have
	// changed since the stream last looked: a peer change alone costs the
	// stream no reading of its replicas.
	own atomic.Bool
}

// takeOwn reports whether the node's own set may have changed since the
// last call.
func (s *subscriber) takeOwn() bool { return s.own.Swap(false) }

func newFanout(st *store.Store) *fanout {
	f := &fanout{st: st, byNode: map[string]map[*subscriber]struct{}{}, peers: map[*subscriber]struct{}{}}
	f.runner.run = f.run
	return f
}

// subscribe returns the subscriber whose channel receives (coalesced)
// whenever node's assignment set may have changed, and the function that
// ends it.
func (f *fanout) subscribe(node string, peers bool) (*subscriber, func()) {
	s := &subscriber{node: node, peers: peers, ch: make(chan struct{}, 1)}
	s.own.Store(true)
	f.mu.Lock()
	if f.byNode[node] == nil {
		f.byNode[node] = map[*subscriber]struct{}{}
	}
	f.byNode[node][s] = struct{}{}
	if peers {
		f.peers[s] = struct{}{}
	}
	f.mu.Unlock()
	release := f.runner.acquire()
	var once sync.Once
	return s, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.byNode[node], s)
			if len(f.byNode[node]) == 0 {
				delete(f.byNode, node)
			}
			delete(f.peers, s)
			f.mu.Unlock()
			release()
		})
	}
}

func (f *fanout) run(ctx context.Context) {
	// members remembers which replicas are in their node's set, and
	// whether they started, so that a status report (most changes) wakes
	// nobody: an assignment changes only by membership and by `started`,
	// which flips once in its life.
	var members map[string]bool
	followStore(ctx, f.st, func(uint64) {
		// Every replica already in a set, or its leaving would wake nobody.
		// Listed after the watch began: the events replayed next only
		// repeat what the listing shows. Whatever happened before is
		// unknown: everyone looks again.
		members = map[string]bool{}
		for _, rep := range f.st.AllReplicas() {
			if assigned(rep) {
				members[rep.GetId()] = rep.GetStartedAt() != 0
			}
		}
		f.mu.Lock()
		f.table.reset(f.st.Nodes())
		f.mu.Unlock()
		f.wakeAll()
	}, func(ev store.Event) {
		switch o := ev.Object.(type) {
		case *orchpb.Replica:
			in := ev.Type == store.EventPut && assigned(o)
			started, was := members[o.GetId()]
			if in {
				members[o.GetId()] = o.GetStartedAt() != 0
			} else {
				delete(members, o.GetId())
			}
			if in != was || (in && started != (o.GetStartedAt() != 0)) {
				f.wakeNode(o.GetNode())
			}
		case *orchpb.Node:
			f.wakeNode(o.GetId())
			f.mu.Lock()
			var changed bool
			if ev.Type == store.EventDelete {
				changed = f.table.remove(o.GetId())
			} else {
				changed = f.table.put(o)
			}
			f.mu.Unlock()
			if changed {
				f.wakePeers()
			}
		case *orchpb.Volume:
			// A binding made or released changes its node's set (usage
			// reports do not: sameSet ignores sizes).
			f.wakeNode(o.GetNode())
		}
	})
}

// peersSince answers what a stream of node self, which has followed the
// peer table up to at, must send; ok is false until the table is listed
// (the listing wakes every stream).
func (f *fanout) peersSince(self string, at peerCursor) (peerChanges, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.table.since(self, at)
}

func wake(s *subscriber) {
	select {
	case s.ch <- struct{}{}:
	default:
	}
}

func (f *fanout) wakeNode(node string) {
	if node == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.byNode[node] {
		s.own.Store(true)
		wake(s)
	}
}

func (f *fanout) wakePeers() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.peers {
		wake(s)
	}
}

func (f *fanout) wakeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, subs := range f.byNode {
		for s := range subs {
			s.own.Store(true)
			wake(s)
		}
	}
}
