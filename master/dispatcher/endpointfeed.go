package dispatcher

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// endpointFeed keeps the cluster's endpoint set current from one store
// watch, and remembers which replicas' endpoints changed lately, so that
// every node's endpoint stream sends only what changed since it last looked.
// A change costs one comparison here, not a recomputation of every
// endpoint for each of thousands of connected nodes.
type endpointFeed struct {
	st     *store.Store
	runner whileUsed

	mu    sync.Mutex
	set   map[string]*orchpb.Endpoint
	index uint64 // store index set reflects
	// changedIDs are the replicas whose endpoint changed, in order: the
	// change numbered seq is changedIDs[seq-base-1].
	changedIDs []string
	base       uint64
	// listedAt is the number of the last relisting of the whole set; a
	// reader from before it (or before base) starts over with the whole
	// set. Zero: not listed yet.
	listedAt uint64
	// changed is closed (and replaced) on every change.
	changed chan struct{}
	// limit bounds changedIDs (maxChangedIDs; tests lower it).
	limit int
}

// maxChangedIDs bounds the change history; a stream further behind gets
// the whole set again.
const maxChangedIDs = 1 << 16

func newEndpointFeed(st *store.Store) *endpointFeed {
	f := &endpointFeed{st: st, changed: make(chan struct{}), limit: maxChangedIDs}
	f.runner.run = f.run
	return f
}

// since returns what a reader that has seen up to seq must send to be
// current (nil if nothing: not listed yet, or no change), the seq to ask
// from next, and a channel closed at the next change. seq 0 asks for the
// whole set.
func (f *endpointFeed) since(seq uint64) (u *orchpb.EndpointUpdate, next uint64, wait <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	next, wait = f.base+uint64(len(f.changedIDs)), f.changed
	switch {
	case f.listedAt == 0:
		return nil, seq, wait
	case seq == next:
		return nil, next, wait
	case seq < f.listedAt || seq < f.base:
		u = &orchpb.EndpointUpdate{Reset_: true, Put: make([]*orchpb.Endpoint, 0, len(f.set))}
		for _, ep := range f.set {
			u.Put = append(u.Put, ep)
		}
	default:
		u = &orchpb.EndpointUpdate{}
		ids := slices.Clone(f.changedIDs[seq-f.base:])
		slices.Sort(ids)
		for _, id := range slices.Compact(ids) {
			if ep := f.set[id]; ep != nil {
				u.Put = append(u.Put, ep)
			} else {
				u.Deleted = append(u.Deleted, id)
			}
		}
	}
	slices.SortFunc(u.Put, func(a, b *orchpb.Endpoint) int { return strings.Compare(a.GetReplicaId(), b.GetReplicaId()) })
	u.Index = f.index
	return u, next, wait
}

func (f *endpointFeed) run(ctx context.Context) {
	// Stopped, the feed no longer follows the store: what it holds goes
	// stale, so the next run starts from a listing, not from it.
	defer f.forget()
	followStore(ctx, f.st, func(from uint64) {
		// Listed after the watch began: a change in between shows in both,
		// and applying it twice changes nothing.
		f.relist(Endpoints(f.st), from)
	}, func(ev store.Event) {
		rep, ok := ev.Object.(*orchpb.Replica)
		if !ok {
			return
		}
		var ep *orchpb.Endpoint
		if ev.Type == store.EventPut {
			ep = endpointOf(rep)
		}
		f.update(rep.GetId(), ep, ev.Index)
	})
}

func (f *endpointFeed) forget() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set, f.listedAt = nil, 0
}

func (f *endpointFeed) relist(set map[string]*orchpb.Endpoint, index uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set, f.index = set, index
	f.base += uint64(len(f.changedIDs)) + 1
	f.changedIDs = f.changedIDs[:0]
	f.listedAt = f.base
	f.wake()
}

// update records replica id's endpoint (nil: none) as of index.
func (f *endpointFeed) update(id string, ep *orchpb.Endpoint, index uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index = index
	old, had := f.set[id]
	if ep == nil && !had || ep != nil && had && proto.Equal(ep, old) {
		return
	}
	if ep == nil {
		delete(f.set, id)
	} else {
		f.set[id] = ep
	}
	if len(f.changedIDs) >= f.limit {
		half := f.limit / 2
		f.changedIDs = append(f.changedIDs[:0], f.changedIDs[half:]...)
		f.base += uint64(half)
	}
	f.changedIDs = append(f.changedIDs, id)
	f.wake()
}

func (f *endpointFeed) wake() {
	close(f.changed)
	f.changed = make(chan struct{})
}
