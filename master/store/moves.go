package store

import (
	"fmt"

	orchpb "github.com/orch-io/orch/proto"
)

// ProtocolScheduling is the protocol that brought the rebalance mark
// (MoveReplicas) and the FSM's check of device placements; it came with
// canaries.
var ProtocolScheduling = ProtocolCanary

// moveReplicas marks the replicas a rebalance plan chose (Replica.moving).
// The mark is the operator's request, like a node's draining state: the
// service controller does the move (a replacement first, then the stop),
// so nothing here changes placement or desired state.
func (s *Store) moveReplicas(index uint64, c *orchpb.MoveReplicas) *orchpb.CommandResult {
	if !s.speaks(ProtocolScheduling) {
		// A master of v0.1.0 fails the unknown command: so must we, or
		// the states would drift apart.
		return fail(index, orchpb.ResultInvalid, "rebalance needs every master at protocol %s or later: finish the upgrade first", ProtocolScheduling)
	}
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
