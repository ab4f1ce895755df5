package store

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
)

// Event types and object kinds of watch events (the words of the REST watch
// stream).
const (
	EventPut    = "put"
	EventDelete = "delete"

	KindService = "service"
	KindReplica = "replica"
	KindNode    = "node"
	KindImage   = "image"
)

// Event is one changed object. Object is the stored (shared, immutable)
// object: for a put the new version, for a delete the last one. Node
// allocation is derived state and does not produce events, so a node in an
// event carries its allocation as of that event; read Node for the current
// one.
type Event struct {
	Index  uint64
	Type   string // EventPut or EventDelete
	Kind   string // KindService, KindReplica, KindNode or KindImage
	Object proto.Message
	// Time is when the leader appended the change to the Raft log, the
	// same on every master and across restarts; zero if not known.
	Time time.Time
}

// ring is the bounded history of recent events, guarded by Store.mu.
// Events are numbered by a sequence that never restarts; buf holds
// sequences [start, next).
type ring struct {
	buf         []Event
	start, next uint64
	// floor: every event with Index > floor is still in buf.
	floor uint64
	// epoch changes on Restore; watchers of an older epoch are closed.
	epoch uint64
	// changed is closed (and replaced) whenever events are appended or the
	// ring restarts, waking waiting watchers.
	changed chan struct{}
}

func newRing(size int) *ring {
	return &ring{buf: make([]Event, size), changed: make(chan struct{})}
}

func (r *ring) append(events []Event) {
	n := uint64(len(r.buf))
	for _, e := range events {
		if r.next-r.start == n {
			// An index is only whole if all its events are kept.
			r.floor = r.buf[r.start%n].Index
			r.buf[r.start%n] = Event{}
			r.start++
		}
		r.buf[r.next%n] = e
		r.next++
	}
}

func (r *ring) wake() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *ring) restart(index uint64) {
	clear(r.buf)
	r.start = r.next
	r.floor = index
	r.epoch++
	r.wake()
}

// seqAfter returns the sequence of the first event with Index > index.
func (r *ring) seqAfter(index uint64) uint64 {
	n := uint64(len(r.buf))
	k := sort.Search(int(r.next-r.start), func(i int) bool {
		return r.buf[(r.start+uint64(i))%n].Index > index
	})
	return r.start + uint64(k)
}

// Watch streams the changes after index from, in index order, starting
// with those the ring still holds. It returns ErrCompacted if from is older
// than the ring's history. The channel is closed when ctx is done, when the
// watcher falls so far behind that the ring dropped events it had not read
// yet, or when the store is restored from a snapshot; in the last two cases
// the watcher must list again and watch from the listed index.
func (s *Store) Watch(ctx context.Context, from uint64) (<-chan Event, error) {
	s.mu.RLock()
	if from < s.ring.floor {
		floor := s.ring.floor
		s.mu.RUnlock()
		return nil, &compactedError{from: from, floor: floor}
	}
	seq, epoch := s.ring.seqAfter(from), s.ring.epoch
	s.mu.RUnlock()
	ch := make(chan Event, 64)
	go s.serveWatch(ctx, ch, from, seq, epoch)
	return ch, nil
}

type compactedError struct{ from, floor uint64 }

func (e *compactedError) Error() string {
	return ErrCompacted.Error() + ": index " + strconv.FormatUint(e.from, 10) + " is older than " + strconv.FormatUint(e.floor, 10)
}
func (e *compactedError) Unwrap() error { return ErrCompacted }

func (s *Store) serveWatch(ctx context.Context, ch chan<- Event, from, seq, epoch uint64) {
	defer close(ch)
	batch := make([]Event, 0, 256)
	for {
		s.mu.RLock()
		r := s.ring
		if r.epoch != epoch || seq < r.start {
			s.mu.RUnlock()
			return
		}
		batch = batch[:0]
		n := uint64(len(r.buf))
		for q := seq; q < r.next && len(batch) < cap(batch); q++ {
			batch = append(batch, r.buf[q%n])
		}
		wait := r.changed
		s.mu.RUnlock()
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-wait:
			}
			continue
		}
		seq += uint64(len(batch))
		for _, e := range batch {
			if e.Index <= from {
				continue // watching from an index the store has not reached
			}
			select {
			case ch <- e:
			case <-ctx.Done():
				return
			}
		}
	}
}

// Notify returns a channel that receives after every Apply or Restore.
// Signals coalesce (buffer 1, never blocking the store): a receiver learns
// that something changed, then reads the state it cares about. cancel
// stops the signals; it is safe to call more than once.
func (s *Store) Notify() (ch <-chan struct{}, cancel func()) {
	c := make(chan struct{}, 1)
	s.notifyMu.Lock()
	id := s.nextNotif
	s.nextNotif++
	s.notifiers[id] = c
	s.notifyMu.Unlock()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			s.notifyMu.Lock()
			delete(s.notifiers, id)
			s.notifyMu.Unlock()
		})
	}
}

func (s *Store) notify() {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	for _, c := range s.notifiers {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}
