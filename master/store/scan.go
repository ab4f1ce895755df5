package store

import orchpb "github.com/orch-io/orch/proto"

// AllReplicas lists every replica in no particular order: cheaper than
// Replicas for a caller that groups them itself (the controllers, on every
// pass over tens of thousands). The objects are shared and immutable, as
// for every read.
func (s *Store) AllReplicas() []*orchpb.Replica {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*orchpb.Replica, 0, len(s.replicas))
	for _, r := range s.replicas {
		out = append(out, r)
	}
	return out
}
