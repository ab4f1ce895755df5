package controlplane

import (
	"context"
	"net/http"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/controllers"
	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/store"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// rotateCA starts a CA replacement (docs/ca-rotation.md): a new CA, the
// cross certificate by which the current one vouches for it, and the trust
// phase through Raft; the leader's rotation controller takes it from
// there. With abort it undoes a rotation still in the trust phase.
func (s *Server) rotateCA(w http.ResponseWriter, r *http.Request) {
	var req api.RotateCARequest
	if e := readJSON(r, &req); e != nil {
		api.WriteError(w, e)
		return
	}
	cmd, e := s.rotateCommand(req)
	if e != nil {
		api.WriteError(w, e)
		return
	}
	res, err := s.apply(r.Context(), &orchpb.Command{Op: &orchpb.Command_RotateCa{RotateCa: cmd}})
	if err != nil {
		api.WriteError(w, endpoint.ErrorOf(err))
		return
	}
	setIndex(w, res.GetIndex())
	s.writeRotation(w, r.Context(), http.StatusAccepted)
}

// rotateCommand is the command a rotate request asks for.
func (s *Server) rotateCommand(req api.RotateCARequest) (*orchpb.RotateCA, *api.Error) {
	if req.Abort {
		return &orchpb.RotateCA{Phase: store.CAPhaseAbort}, nil
	}
	cfg := s.deps.Store.Config()
	if r := cfg.GetRotation(); r != nil {
		return nil, &api.Error{Code: api.CodeConflict, Status: http.StatusConflict,
			Message: "a CA rotation is already under way (phase " + r.GetPhase() + "): follow it with orchctl ca status"}
	}
	current, err := pki.ParseCA([]byte(cfg.GetCaCertPem()), []byte(cfg.GetCaKeyPem()))
	if err != nil {
		return nil, endpoint.ErrorOf(err)
	}
	next, err := pki.NewCA()
	if err != nil {
		return nil, endpoint.ErrorOf(err)
	}
	cross, err := current.CrossSign(next)
	if err != nil {
		return nil, endpoint.ErrorOf(err)
	}
	return &orchpb.RotateCA{Phase: store.CAPhaseTrust, Rotation: &orchpb.CARotation{
		NextCertPem: string(next.CertPEM()), NextKeyPem: string(next.KeyPEM()), CrossPem: string(cross),
		StartedAtUnixMs: s.now().UnixMilli(), Force: req.Force,
	}}, nil
}

// caRotation answers where a CA replacement stands.
func (s *Server) caRotation(w http.ResponseWriter, r *http.Request) {
	s.writeRotation(w, r.Context(), http.StatusOK)
}

func (s *Server) writeRotation(w http.ResponseWriter, ctx context.Context, status int) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	p, err := controllers.RotationProgress(ctx, s.deps.Store, s.deps.Masters)
	if err != nil {
		api.WriteError(w, endpoint.ErrorOf(err))
		return
	}
	p.CAPEM = string(s.deps.CA.CertPEM())
	writeJSON(w, status, p)
}
