package controlplane

import (
	"net/http"

	"github.com/orch-io/orch/master/endpoint"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/auth"
	orchpb "github.com/orch-io/orch/proto"
)

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
		api.WriteError(w, &api.Error{Code: api.CodeInvalid, Field: "role", Message: "role: want admin, master, agent or reader, got " + req.Role, Status: http.StatusBadRequest})
		return
	}
	token, digest, err := auth.NewToken(s.deps.CA.Digest(), role)
	if err != nil {
		api.WriteError(w, endpoint.ErrorOf(err))
		return
	}
	res, err := s.apply(r.Context(), &orchpb.Command{Op: &orchpb.Command_PutToken{PutToken: &orchpb.PutToken{
		Token: &orchpb.Token{Sha256: digest, Role: string(role)},
	}}})
	if err != nil {
		api.WriteError(w, endpoint.ErrorOf(err))
		return
	}
	setIndex(w, res.GetIndex())
	writeJSON(w, http.StatusCreated, api.Token{Token: token, Role: string(role)})
}
