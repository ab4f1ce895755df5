package dispatcher

import (
	"context"
	"sync"

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
}

type subscriber struct {
	node  string
	peers bool
	ch    chan struct{}
}

func newFanout(st *store.Store) *fanout {
	f := &fanout{st: st, byNode: map[string]map[*subscriber]struct{}{}, peers: map[*subscriber]struct{}{}}
	f.runner.run = f.run
	return f
}

// subscribe returns a channel that receives (coalesced) whenever node's
// assignment set may have changed, and the function that ends it.
func (f *fanout) subscribe(node string, peers bool) (<-chan struct{}, func()) {
	s := &subscriber{node: node, peers: peers, ch: make(chan struct{}, 1)}
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
	return s.ch, func() {
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
	// members remembers which replicas are in their node's set, so that a
	// status report (most changes) wakes nobody: sets change only by
	// membership (see sameSet).
	var members map[string]bool
	go wakeOnCAChange(ctx, f.st, f.wakeAll)
	followStore(ctx, f.st, func(uint64) {
		// Every replica already in a set, or its leaving would wake nobody.
		// Listed after the watch began: the events replayed next only
		// repeat what the listing shows. Whatever happened before is
		// unknown: everyone looks again.
		members = map[string]bool{}
		for _, rep := range f.st.AllReplicas() {
			if assigned(rep) {
				members[rep.GetId()] = true
			}
		}
		f.wakeAll()
	}, func(ev store.Event) {
		switch o := ev.Object.(type) {
		case *orchpb.Replica:
			in := ev.Type == store.EventPut && assigned(o)
			was := members[o.GetId()]
			if in {
				members[o.GetId()] = true
			} else {
				delete(members, o.GetId())
			}
			if in != was {
				f.wakeNode(o.GetNode())
			}
		case *orchpb.Node:
			f.wakeNode(o.GetId())
			f.wakePeers()
		case *orchpb.Volume:
			// A binding made or released changes its node's set (usage
			// reports do not: sameSet ignores sizes).
			f.wakeNode(o.GetNode())
		}
	})
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
			wake(s)
		}
	}
}
