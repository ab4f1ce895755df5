package store

import (
	"slices"

	orchpb "github.com/orch-io/orch/proto"
)

// ServiceKey names a service.
type ServiceKey struct{ Namespace, Name string }

// Cursor is a position in the store's history, for ChangedServices.
type Cursor struct{ index, epoch uint64 }

// Cursor is the position of the state a read that follows sees (or a newer
// one): pass it to ChangedServices to learn what changed after it.
func (s *Store) Cursor() Cursor {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Cursor{s.index, s.ring.epoch}
}

// ChangedServices lists, sorted, the services whose spec, replicas or
// released volumes changed after c, and the cursor to ask from next time. all reports that
// the caller must look at every service instead: the history after c is
// no longer held (a restore, or more changes than the watch ring keeps).
//
// A node that changed (registered, went down or came back, was drained,
// cordoned or removed) lists the services with replicas on it and every
// global service: the only ones whose placement it can change. A node
// going down also marks its replicas lost, which lists their services by
// itself. Services waiting for room elsewhere are the caller's to carry
// from one pass to the next (the service controller does).
//
// It lets the controllers revisit only what moved, instead of every
// service on every write: at 5,000 nodes, nodes come and go every second,
// and a pass over every service each time took most of a leader.
func (s *Store) ChangedServices(c Cursor) (keys []ServiceKey, all bool, next Cursor) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	next = Cursor{s.index, s.ring.epoch}
	if c.epoch != s.ring.epoch || c.index < s.ring.floor {
		return nil, true, next
	}
	seen := map[ServiceKey]struct{}{}
	var nodes []string
	n := uint64(len(s.ring.buf))
	for q := s.ring.seqAfter(c.index); q < s.ring.next; q++ {
		e := s.ring.buf[q%n]
		switch o := e.Object.(type) {
		case *orchpb.Service:
			seen[ServiceKey{o.GetSpec().GetNamespace(), o.GetSpec().GetName()}] = struct{}{}
		case *orchpb.Replica:
			seen[ServiceKey{o.GetNamespace(), o.GetService()}] = struct{}{}
		case *orchpb.Node:
			nodes = append(nodes, o.GetId())
		case *orchpb.Volume:
			// A released binding frees where the slot may go; a new one
			// or a usage report changes nothing to place.
			if e.Type == EventDelete {
				seen[ServiceKey{o.GetNamespace(), o.GetService()}] = struct{}{}
			}
		}
	}
	if len(nodes) > 0 {
		s.addNodesServices(seen, nodes)
	}
	keys = make([]ServiceKey, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b ServiceKey) int { return svcKey{a.Namespace, a.Name}.compare(svcKey{b.Namespace, b.Name}) })
	return keys, false, next
}

// addNodesServices adds to seen the services with replicas on the nodes
// (by id) and every global service. s.mu is held.
func (s *Store) addNodesServices(seen map[ServiceKey]struct{}, nodes []string) {
	done := make(map[string]bool, len(nodes))
	for _, id := range nodes {
		if done[id] {
			continue
		}
		done[id] = true
		for rid := range s.byNode[id] {
			if r := s.replicas[rid]; r != nil {
				seen[ServiceKey{r.GetNamespace(), r.GetService()}] = struct{}{}
			}
		}
	}
	for _, svc := range s.services {
		if spec := svc.GetSpec(); spec.GetMode() == orchpb.ModeGlobal {
			seen[ServiceKey{spec.GetNamespace(), spec.GetName()}] = struct{}{}
		}
	}
}
