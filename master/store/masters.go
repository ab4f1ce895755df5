package store

import (
	"sort"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// The control plane's own records: where each master's API is (Raft's
// configuration knows only who votes and their Raft address). Like the
// token table (tokens.go) they emit no watch events: they are not objects
// users watch.

func (s *Store) putMaster(c *orchpb.PutMaster) *orchpb.CommandResult {
	m := c.GetMaster()
	if m.GetId() == "" {
		return fail(s.index, orchpb.ResultInvalid, "put master: id is required")
	}
	s.masters[m.Id] = proto.Clone(m).(*orchpb.Master)
	return &orchpb.CommandResult{}
}

func (s *Store) removeMaster(c *orchpb.RemoveMaster) *orchpb.CommandResult {
	if _, ok := s.masters[c.GetId()]; !ok {
		return fail(s.index, orchpb.ResultNotFound, "remove master: %q is not a recorded master", c.GetId())
	}
	delete(s.masters, c.GetId())
	return &orchpb.CommandResult{}
}

// Master returns the recorded master with this Raft server id, or nil.
func (s *Store) Master(id string) *orchpb.Master {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.masters[id]
}

// Masters lists the recorded masters sorted by id.
func (s *Store) Masters() []*orchpb.Master {
	s.mu.RLock()
	out := values(s.masters)
	s.mu.RUnlock()
	sortMasters(out)
	return out
}

func sortMasters(list []*orchpb.Master) {
	sort.Slice(list, func(i, j int) bool { return list[i].GetId() < list[j].GetId() })
}
