package controlplane

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/peer"
	orchpb "github.com/orch-io/orch/proto"
)

// TokenUseGranularity is how stale a token's recorded last use may be:
// a use less than this after the recorded one is not written through Raft.
// Writing every use would put a Raft write behind every request; once a
// minute per token is what an operator reading `token list` needs.
const TokenUseGranularity = time.Minute

// createToken makes a token for a role and stores its digest through Raft;
// the token itself is in this answer only.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var req api.TokenRequest
	if e := readJSON(r, &req); e != nil {
		api.WriteError(w, e)
		return
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		api.WriteError(w, endpoint.BadRequest("role", "role: want admin, master, agent or reader, got "+req.Role))
		return
	}
	var ttl time.Duration
	if req.TTL != "" {
		if ttl, err = time.ParseDuration(req.TTL); err != nil || ttl <= 0 {
			api.WriteError(w, endpoint.BadRequest("ttl", "ttl: want a positive duration such as 24h, got "+req.TTL))
			return
		}
	}
	token, digest, err := auth.NewToken(s.deps.CA.Digest(), role)
	if err != nil {
		api.WriteError(w, endpoint.ErrorOf(err))
		return
	}
	now := s.now()
	rec := &orchpb.Token{Sha256: digest, Role: string(role), CreatedAt: now.UnixMilli()}
	if ttl > 0 {
		rec.ExpiresAt = now.Add(ttl).UnixMilli()
	}
	res, err := s.apply(r.Context(), &orchpb.Command{Op: &orchpb.Command_PutToken{PutToken: &orchpb.PutToken{Token: rec}}})
	if err != nil {
		api.WriteError(w, endpoint.ErrorOf(err))
		return
	}
	setIndex(w, res.GetIndex())
	stored := s.deps.Store.Token(digest)
	writeJSON(w, http.StatusCreated, api.Token{Token: token, Role: string(role), ID: stored.GetId(), Expires: millis(rec.ExpiresAt)})
}

// listTokens answers the token table without secrets or digests. The last
// use merges what Raft has with this master's own, not yet written.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("stale") != "true" && s.deps.ReadBarrier != nil {
		if err := s.deps.ReadBarrier(r.Context()); err != nil {
			api.WriteError(w, endpoint.ErrorOf(err))
			return
		}
	}
	out := []api.TokenInfo{}
	for _, t := range s.deps.Store.Tokens() {
		info := api.TokenInfo{ID: t.GetId(), Role: t.GetRole(), Created: millis(t.GetCreatedAt()),
			Expires: millis(t.GetExpiresAt()), LastUsed: millis(t.GetLastUsedAt())}
		if s.deps.LastUsed != nil {
			if at, ok := s.deps.LastUsed(t.GetId()); ok && at.After(info.LastUsed) {
				info.LastUsed = at.UTC().Truncate(time.Millisecond)
			}
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writeJSON(w, http.StatusOK, out)
}

// revokeToken removes a token through Raft: every master refuses it once
// it has applied the revoke, which is the commit plus a heartbeat.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	res, err := s.apply(r.Context(), &orchpb.Command{Op: &orchpb.Command_RevokeToken{RevokeToken: &orchpb.RevokeToken{Id: id}}})
	if err != nil {
		api.WriteError(w, endpoint.ErrorOf(err))
		return
	}
	setIndex(w, res.GetIndex())
	writeJSON(w, http.StatusOK, revoked{Revoked: id})
}

// revoked is the answer to a token's revocation: its id.
type revoked struct {
	Revoked string `json:"revoked"`
}

// reportTokenUse takes a follower's last-use times (see RecordTokenUse).
func (s *Server) reportTokenUse(w http.ResponseWriter, r *http.Request) {
	var req peer.TokenUse
	if e := readJSON(r, &req); e != nil {
		api.WriteError(w, e)
		return
	}
	if err := s.RecordTokenUse(r.Context(), req.LastUsed); err != nil {
		api.WriteError(w, endpoint.ErrorOf(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// RecordTokenUse writes through Raft the last-use times (token id -> time)
// a master saw, leaving out those within TokenUseGranularity of the stored
// time: with every master reporting once per TokenUseGranularity, a token
// in steady use costs about one write per minute however often it is used.
func (s *Server) RecordTokenUse(ctx context.Context, lastUsed map[string]time.Time) error {
	var uses []*orchpb.TokenUse
	for id, at := range lastUsed {
		t := s.deps.Store.TokenByID(id)
		if t == nil || at.Sub(time.UnixMilli(t.GetLastUsedAt())) < TokenUseGranularity {
			continue
		}
		uses = append(uses, &orchpb.TokenUse{Id: id, At: at.UnixMilli()})
	}
	if len(uses) == 0 {
		return nil
	}
	sort.Slice(uses, func(i, j int) bool { return uses[i].Id < uses[j].Id })
	_, err := s.apply(ctx, &orchpb.Command{Op: &orchpb.Command_TouchTokens{TouchTokens: &orchpb.TouchTokens{Uses: uses}}})
	return err
}

func (s *Server) now() time.Time {
	if s.deps.Now != nil {
		return s.deps.Now()
	}
	return time.Now()
}

// millis is a stored unix-milliseconds time; 0 is the zero time (unknown).
func millis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
