package store

import (
	"encoding/hex"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// The digests of the bearer tokens the cluster accepts, with their role,
// lifetime and last use. No watch events: token digests are credentials.
// A revoked token is deleted, not marked: a master that has applied the
// revoke no longer knows it, so it refuses it like any unknown token.

// TokenIDLength is how many hex digits of a token's SHA-256 name it when a
// command gives no id: enough to be unique among the tokens of a cluster,
// far too few to say anything about the secret.
const TokenIDLength = 12

func (s *Store) putToken(c *orchpb.PutToken) *orchpb.CommandResult {
	t := proto.Clone(c.GetToken()).(*orchpb.Token)
	if b, err := hex.DecodeString(t.GetSha256()); err != nil || len(b) != 32 {
		return fail(s.index, orchpb.ResultInvalid, "put token: sha256 must be 64 hex digits")
	}
	if t.GetRole() == "" {
		return fail(s.index, orchpb.ResultInvalid, "put token: role is required")
	}
	if t.Id == "" {
		t.Id = t.Sha256[:TokenIDLength]
	}
	if other, ok := s.tokenIDs[t.Id]; ok && other != t.Sha256 {
		return fail(s.index, orchpb.ResultConflict, "put token: id %q is taken", t.Id)
	}
	if old := s.tokens[t.Sha256]; old != nil && old.Id != t.Id {
		delete(s.tokenIDs, old.Id)
	}
	s.tokens[t.Sha256] = t
	s.tokenIDs[t.Id] = t.Sha256
	return &orchpb.CommandResult{}
}

func (s *Store) revokeToken(c *orchpb.RevokeToken) *orchpb.CommandResult {
	digest, ok := s.tokenIDs[c.GetId()]
	if !ok {
		return fail(s.index, orchpb.ResultNotFound, "revoke token: no token %q", c.GetId())
	}
	if s.tokens[digest].GetRole() == "admin" && s.adminTokens() == 1 {
		// Nothing could create another admin token after this one: the
		// cluster would be locked out of every admin call.
		return fail(s.index, orchpb.ResultConflict, "revoke token: %q is the last admin token; create another admin token first", c.GetId())
	}
	delete(s.tokens, digest)
	delete(s.tokenIDs, c.GetId())
	return &orchpb.CommandResult{}
}

func (s *Store) adminTokens() int {
	n := 0
	for _, t := range s.tokens {
		if t.GetRole() == "admin" {
			n++
		}
	}
	return n
}

// touchTokens moves last_used_at forward only: masters report what they
// saw in their own time, and a late report must not move it back.
func (s *Store) touchTokens(c *orchpb.TouchTokens) *orchpb.CommandResult {
	for _, u := range c.GetUses() {
		t := s.tokens[s.tokenIDs[u.GetId()]]
		if t == nil || u.GetAt() <= t.LastUsedAt {
			continue
		}
		// Stored objects are shared with snapshots and readers: replace.
		t = proto.Clone(t).(*orchpb.Token)
		t.LastUsedAt = u.GetAt()
		s.tokens[t.Sha256] = t
	}
	return &orchpb.CommandResult{}
}

// restoreToken adds a token from a snapshot; one from before token ids
// gets its derived id.
func (s *Store) restoreToken(t *orchpb.Token) {
	if len(t.GetSha256()) < TokenIDLength {
		return
	}
	if t.Id == "" {
		t = proto.Clone(t).(*orchpb.Token)
		t.Id = t.Sha256[:TokenIDLength]
	}
	s.tokens[t.Sha256] = t
	s.tokenIDs[t.Id] = t.Sha256
}

// Token returns the token whose SHA-256 (hex) is sha256, or nil. It is
// shared with the store: do not modify it.
func (s *Store) Token(sha256 string) *orchpb.Token {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tokens[sha256]
}

// TokenByID returns the token with this id, or nil. It is shared with the
// store: do not modify it.
func (s *Store) TokenByID(id string) *orchpb.Token {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tokens[s.tokenIDs[id]]
}

// Tokens lists the tokens sorted by digest. They are shared with the
// store: do not modify them.
func (s *Store) Tokens() []*orchpb.Token {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tokenList()
}

// tokenList is the token table in a stable order. The caller holds mu.
func (s *Store) tokenList() []*orchpb.Token {
	out := make([]*orchpb.Token, 0, len(s.tokens))
	for _, h := range sortedKeys(s.tokens) {
		out = append(out, s.tokens[h])
	}
	return out
}
