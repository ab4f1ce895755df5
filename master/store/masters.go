package store

import (
	"encoding/hex"
	"sort"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// The control plane's own records: where each master's API is (Raft's
// configuration knows only who votes and their Raft address) and the digests
// of the bearer tokens the cluster accepts. Neither emits watch events: they
// are not objects users watch, and token digests are credentials.

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

func (s *Store) putToken(c *orchpb.PutToken) *orchpb.CommandResult {
	t := c.GetToken()
	if b, err := hex.DecodeString(t.GetSha256()); err != nil || len(b) != 32 {
		return fail(s.index, orchpb.ResultInvalid, "put token: sha256 must be 64 hex digits")
	}
	if t.GetRole() == "" {
		return fail(s.index, orchpb.ResultInvalid, "put token: role is required")
	}
	s.tokens[t.Sha256] = t.Role
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

// TokenRole returns the role of the token whose SHA-256 (hex) is sha256.
func (s *Store) TokenRole(sha256 string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	role, ok := s.tokens[sha256]
	return role, ok
}

// tokenList is the token table in a stable order, for snapshots.
func (s *Store) tokenList() []*orchpb.Token {
	out := make([]*orchpb.Token, 0, len(s.tokens))
	for _, h := range sortedKeys(s.tokens) {
		out = append(out, &orchpb.Token{Sha256: h, Role: s.tokens[h]})
	}
	return out
}
