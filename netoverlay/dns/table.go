// Package dns is a node's service discovery: a table of the cluster's
// service endpoints, kept in step by the agent from the master's endpoint
// stream, and a DNS server (github.com/miekg/dns) on the node's bridge
// gateway that answers SERVICE.NAMESPACE.orch with the addresses of the
// service's healthy replicas, SLOT.SERVICE.NAMESPACE.orch with that one
// replica, and forwards every other name to the node's own resolvers. It
// answers only its node's replicas (Config.Clients; others get REFUSED) and
// forwards at a bounded rate, so it is nobody's open resolver. It also
// writes the resolv.conf and hosts files a replica sees.
//
// It owns its sockets and nothing else: no links, no routes, no rules.
package dns

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// Endpoint is one replica as discovery sees it.
type Endpoint struct {
	ID        string
	Namespace string
	Service   string
	Slot      int
	IP        netip.Addr
	// Healthy replicas (state running) are answered for the service name;
	// unhealthy ones only for their slot name.
	Healthy    bool
	Generation uint64
}

type serviceKey struct{ namespace, service string }

// Table is the set of endpoints, indexed by service. It is safe for
// concurrent use: updates come from one stream, look-ups from every query.
type Table struct {
	mu        sync.RWMutex
	byID      map[string]Endpoint
	byService map[serviceKey]map[string]Endpoint
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{byID: map[string]Endpoint{}, byService: map[serviceKey]map[string]Endpoint{}}
}

// Reset replaces every endpoint with eps.
func (t *Table) Reset(eps []Endpoint) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byID = map[string]Endpoint{}
	t.byService = map[serviceKey]map[string]Endpoint{}
	for _, ep := range eps {
		t.putLocked(ep)
	}
}

// Update adds or replaces put and removes the endpoints with the ids in
// deleted.
func (t *Table) Update(put []Endpoint, deleted []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range deleted {
		t.deleteLocked(id)
	}
	for _, ep := range put {
		t.putLocked(ep)
	}
}

func (t *Table) putLocked(ep Endpoint) {
	ep.Namespace, ep.Service = strings.ToLower(ep.Namespace), strings.ToLower(ep.Service)
	t.deleteLocked(ep.ID)
	t.byID[ep.ID] = ep
	k := serviceKey{ep.Namespace, ep.Service}
	if t.byService[k] == nil {
		t.byService[k] = map[string]Endpoint{}
	}
	t.byService[k][ep.ID] = ep
}

func (t *Table) deleteLocked(id string) {
	old, ok := t.byID[id]
	if !ok {
		return
	}
	delete(t.byID, id)
	k := serviceKey{old.Namespace, old.Service}
	delete(t.byService[k], id)
	if len(t.byService[k]) == 0 {
		delete(t.byService, k)
	}
}

// Endpoints returns every endpoint, sorted by id.
func (t *Table) Endpoints() []Endpoint {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Endpoint, 0, len(t.byID))
	for _, ep := range t.byID {
		out = append(out, ep)
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Service returns the addresses of the healthy replicas of namespace/service
// (sorted), and whether the service has any endpoint at all (a name that
// exists with no healthy replica is NODATA, not NXDOMAIN).
func (t *Table) Service(namespace, service string) ([]netip.Addr, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	eps, ok := t.byService[serviceKey{namespace, service}]
	if !ok {
		return nil, false
	}
	var out []netip.Addr
	for _, ep := range eps {
		if ep.Healthy && ep.IP.IsValid() {
			out = append(out, ep.IP)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out), true
}

// Slot returns the address of the replica in slot of namespace/service. While
// a rolling update runs two replicas may share a slot: the healthy one wins,
// then the newer generation.
func (t *Table) Slot(namespace, service string, slot int) (netip.Addr, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var best Endpoint
	found := false
	for _, ep := range t.byService[serviceKey{namespace, service}] {
		if ep.Slot != slot || !ep.IP.IsValid() {
			continue
		}
		if !found || better(ep, best) {
			best, found = ep, true
		}
	}
	return best.IP, found
}

func better(a, b Endpoint) bool {
	if a.Healthy != b.Healthy {
		return a.Healthy
	}
	if a.Generation != b.Generation {
		return a.Generation > b.Generation
	}
	return a.ID > b.ID
}
