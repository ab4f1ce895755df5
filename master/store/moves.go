package store

import (
	"fmt"

	orchpb "github.com/orch-io/orch/proto"
)

// moveReplicas marks the replicas a rebalance plan chose (Replica.moving).
// The mark is the operator's request, like a node's draining state: the
// service controller does the move (a replacement first, then the stop),
// so nothing here changes placement or desired state.
func (s *Store) moveReplicas(index uint64, c *orchpb.MoveReplicas) *orchpb.CommandResult {
	res := &orchpb.CommandResult{}
	reject := func(id, format string, args ...any) {
		if res.Rejected == nil {
			res.Rejected = map[string]string{}
		}
		res.Rejected[id] = fmt.Sprintf(format, args...)
	}
	for _, id := range sortedKeys(c.GetExpectedVersions()) {
		want := c.GetExpectedVersions()[id]
		r := s.replicas[id]
		switch {
		case r == nil:
			reject(id, "replica %s not found", id)
		case want != 0 && r.Version != want:
			reject(id, "version conflict: expected version %d, stored version %d", want, r.Version)
		case r.Moving:
			reject(id, "replica %s is already moving", id)
		case !counts(r):
			reject(id, "replica %s is not running on a node", id)
		default:
			m := CopyReplica(r)
			m.Moving = true
			m.Version = index
			s.storeReplica(m)
		}
	}
	return res
}
