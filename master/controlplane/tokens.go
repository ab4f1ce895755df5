package controlplane

import (
	"net/http"

	"github.com/orch-io/orch/master/api"
	"github.com/orch-io/orch/master/api/wire"
	"github.com/orch-io/orch/master/auth"
	orchpb "github.com/orch-io/orch/proto"
)

// createToken makes a token for a role and stores its digest through Raft;
// the token itself is in this answer only.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var req wire.TokenRequest
	if e := readJSON(r, &req); e != nil {
		wire.WriteError(w, e)
		return
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		wire.WriteError(w, &wire.Error{Code: wire.CodeInvalid, Field: "role", Message: "role: want admin, master, agent or reader, got " + req.Role, Status: http.StatusBadRequest})
		return
	}
	token, digest, err := auth.NewToken(s.deps.CA.Digest(), role)
	if err != nil {
		wire.WriteError(w, api.ErrorOf(err))
		return
	}
	res, err := s.apply(r.Context(), &orchpb.Command{Op: &orchpb.Command_PutToken{PutToken: &orchpb.PutToken{
		Token: &orchpb.Token{Sha256: digest, Role: string(role)},
	}}})
	if err != nil {
		wire.WriteError(w, api.ErrorOf(err))
		return
	}
	setIndex(w, res.GetIndex())
	writeJSON(w, http.StatusCreated, wire.Token{Token: token, Role: string(role)})
}
