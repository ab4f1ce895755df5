package dispatcher

import (
	"context"
	"sync"
	"time"

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
	st *store.Store

	mu     sync.Mutex
	byNode map[string]map[*subscriber]struct{}
	peers  map[*subscriber]struct{}
	refs   int
	stop   context.CancelFunc
	done   chan struct{}
}

type subscriber struct {
	node  string
	peers bool
	ch    chan struct{}
}

func newFanout(st *store.Store) *fanout {
	return &fanout{st: st, byNode: map[string]map[*subscriber]struct{}{}, peers: map[*subscriber]struct{}{}}
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
	f.refs++
	if f.refs == 1 {
		ctx, cancel := context.WithCancel(context.Background())
		f.stop, f.done = cancel, make(chan struct{})
		go f.run(ctx, f.done)
	}
	f.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.byNode[node], s)
			if len(f.byNode[node]) == 0 {
				delete(f.byNode, node)
			}
			delete(f.peers, s)
			f.refs--
			var stop context.CancelFunc
			var done chan struct{}
			if f.refs == 0 {
				stop, done = f.stop, f.done
			}
			f.mu.Unlock()
			if stop != nil {
				stop()
				<-done
			}
		})
	}
}

func (f *fanout) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	for ctx.Err() == nil {
		events, err := f.st.Watch(ctx, f.st.Index())
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		// Whatever happened before this watch began is unknown: everyone
		// looks again.
		f.wakeAll()
		// members remembers which replicas are in their node's set, so
		// that a status report (most changes) wakes nobody: sets change
		// only by membership (see sameSet).
		members := map[string]bool{}
		for ev := range events {
			switch o := ev.Object.(type) {
			case *orchpb.Replica:
				in := ev.Type == store.EventPut && o.GetNode() != "" &&
					o.GetDesiredState() == orchpb.DesiredRunning && o.GetState() != orchpb.ReplicaLost
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
			}
		}
	}
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
