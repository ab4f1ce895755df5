package store

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	orchpb "github.com/orch-io/orch/proto"
)

// ErrCompacted is returned by Watch when the requested index is older than
// the oldest change the ring still holds; the caller must list again.
var ErrCompacted = errors.New("store: watch index compacted")

// DefaultWatchRing is how many recent change events the store keeps for
// watchers when New is given no WithWatchRing option.
const DefaultWatchRing = 10000

// Store is the state the Raft FSM applies commands to.
//
// Concurrency: there is one writer (the FSM calling Apply and Restore, never
// concurrently with each other) and any number of concurrent readers. Every
// read sees the state as of one applied index.
//
// Immutability: every object a read returns (and every object in an Event or
// a Snapshot) is shared with the store and with other readers, and MUST NOT
// be modified. The store never mutates a stored object in place: a change
// copies the object (shallowly: unchanged sub-messages stay shared), sets
// fields of the copy and stores the copy, so a pointer a reader holds stays
// a consistent view of the object as it was. Callers that want to change an
// object clone it first (proto.Clone).
type Store struct {
	mu    sync.RWMutex
	index uint64
	// appended is when the command being applied was appended to the log.
	appended time.Time

	services map[svcKey]*orchpb.Service
	replicas map[string]*orchpb.Replica
	// byService and byNode hold replica ids.
	byService map[svcKey]map[string]struct{}
	byNode    map[string]map[string]struct{}

	// nodes are stored with Allocated kept current: whenever the allocation
	// of a node changes, its stored object is replaced (without a new
	// version or a watch event, since allocation is derived state).
	nodes      map[string]*orchpb.Node
	nodeByName map[string]string // name -> id
	nodeOrder  []nodeKey         // every node, in Nodes' order
	alloc      map[string]amounts
	subnets    map[string]string // subnet -> node id
	// subnetHint: every /24 of the cluster CIDR below this index is taken,
	// so the search for the lowest free one starts here (derived state).
	subnetHint uint32

	images map[string]*orchpb.Image
	config *orchpb.ClusterConfig
	// masters by Raft server id; tokens by SHA-256 (hex), tokenIDs:
	// token id -> SHA-256 (derived state).
	masters  map[string]*orchpb.Master
	tokens   map[string]*orchpb.Token
	tokenIDs map[string]string
	// secrets hold sealed values only (see package seal); configs plain.
	secrets map[svcKey]*orchpb.Secret
	configs map[svcKey]*orchpb.Config
	// volumes are the slots' persistent volume bindings (volumes.go).
	volumes map[volKey]*orchpb.Volume
	// volumeByIndex finds a binding by its create_index, as nodes name
	// them in usage reports (derived state).
	volumeByIndex map[uint64]volKey

	// Per-Apply scratch: events emitted and nodes whose allocation changed.
	pending    []Event
	dirtyNodes map[string]struct{}

	ring      *ring
	notifyMu  sync.Mutex
	notifiers map[int]chan struct{}
	nextNotif int
}

type svcKey struct{ namespace, name string }

func (k svcKey) String() string { return k.namespace + "/" + k.name }

// compare orders keys by namespace, then name.
func (k svcKey) compare(o svcKey) int {
	if c := strings.Compare(k.namespace, o.namespace); c != 0 {
		return c
	}
	return strings.Compare(k.name, o.name)
}

// amounts is a node's allocation: the resources of the replicas on it that
// count (see counts).
type amounts struct{ cpu, mem int64 }

func (a amounts) add(b amounts) amounts { return amounts{a.cpu + b.cpu, a.mem + b.mem} }
func (a amounts) sub(b amounts) amounts { return amounts{a.cpu - b.cpu, a.mem - b.mem} }

// Option configures a Store.
type Option func(*options)

type options struct{ ringSize int }

// WithWatchRing sets how many recent change events watchers can resume from.
func WithWatchRing(events int) Option {
	return func(o *options) {
		if events > 0 {
			o.ringSize = events
		}
	}
}

// New returns an empty store at index 0.
func New(opts ...Option) *Store {
	o := options{ringSize: DefaultWatchRing}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store{
		ring:      newRing(o.ringSize),
		notifiers: map[int]chan struct{}{},
	}
	s.reset()
	return s
}

// reset empties the tables; the caller holds mu (or owns s exclusively).
func (s *Store) reset() {
	s.index = 0
	s.services = map[svcKey]*orchpb.Service{}
	s.replicas = map[string]*orchpb.Replica{}
	s.byService = map[svcKey]map[string]struct{}{}
	s.byNode = map[string]map[string]struct{}{}
	s.nodes = map[string]*orchpb.Node{}
	s.nodeByName = map[string]string{}
	s.nodeOrder = nil
	s.alloc = map[string]amounts{}
	s.subnets = map[string]string{}
	s.subnetHint = 0
	s.images = map[string]*orchpb.Image{}
	s.config = nil
	s.masters = map[string]*orchpb.Master{}
	s.tokens = map[string]*orchpb.Token{}
	s.tokenIDs = map[string]string{}
	s.secrets = map[svcKey]*orchpb.Secret{}
	s.configs = map[svcKey]*orchpb.Config{}
	s.volumes = map[volKey]*orchpb.Volume{}
	s.volumeByIndex = map[uint64]volKey{}
	s.dirtyNodes = map[string]struct{}{}
	s.pending = nil
}

// Index returns the Raft index of the last applied command (or of the
// snapshot last restored).
func (s *Store) Index() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.index
}

// Service returns the stored service, or nil.
func (s *Store) Service(namespace, name string) *orchpb.Service {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.services[svcKey{namespace, name}]
}

// Services lists the services of namespace ("" = all), sorted by namespace
// then name.
func (s *Store) Services(namespace string) []*orchpb.Service {
	type keyed struct {
		key svcKey
		svc *orchpb.Service
	}
	s.mu.RLock()
	list := make([]keyed, 0, len(s.services))
	for k, svc := range s.services {
		if namespace == "" || k.namespace == namespace {
			list = append(list, keyed{k, svc})
		}
	}
	s.mu.RUnlock()
	// Sorting on the map keys rather than through each spec: the service
	// controller lists every service on each pass.
	slices.SortFunc(list, func(a, b keyed) int { return a.key.compare(b.key) })
	out := make([]*orchpb.Service, len(list))
	for i, e := range list {
		out[i] = e.svc
	}
	return out
}

func sortServices(list []*orchpb.Service) {
	slices.SortFunc(list, func(a, b *orchpb.Service) int {
		return svcKey{a.GetSpec().GetNamespace(), a.GetSpec().GetName()}.compare(svcKey{b.GetSpec().GetNamespace(), b.GetSpec().GetName()})
	})
}

// Node returns the node with this id, Allocated filled in, or nil.
func (s *Store) Node(id string) *orchpb.Node {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nodes[id]
}

// NodeByName returns the node with this name, or nil.
func (s *Store) NodeByName(name string) *orchpb.Node {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nodes[s.nodeByName[name]]
}

// Image returns the stored image with this name, or nil.
func (s *Store) Image(name string) *orchpb.Image {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.images[name]
}

// Images lists the stored images sorted by name.
func (s *Store) Images() []*orchpb.Image {
	s.mu.RLock()
	out := values(s.images)
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

// Config returns the cluster config, or nil if none was set.
func (s *Store) Config() *orchpb.ClusterConfig {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.config
}

// values copies a table's objects out, so the caller can sort them after
// releasing the read lock (the FSM's writes wait for readers).
// selectFrom lists the objects of one of s's tables that keep accepts,
// in no order. The table is read under s's read lock (Restore replaces
// the tables).
func selectFrom[K comparable, V any](s *Store, table func() map[K]V, keep func(K, V) bool) []V {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []V
	for k, v := range table() {
		if keep(k, v) {
			out = append(out, v)
		}
	}
	return out
}

func values[K comparable, V any](table map[K]V) []V {
	out := make([]V, 0, len(table))
	for _, v := range table {
		out = append(out, v)
	}
	return out
}
