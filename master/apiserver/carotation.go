package apiserver

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/store"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// rotateCA starts a CA rotation (docs/ca-rotation.md): a new CA (B),
// cross-signed by the current one (A), enters phase trust; the leader's
// rotation controller does the rest. With abort it ends a rotation still
// in trust. A rotation already under way is left alone and its status
// answered, so that a caller can follow it.
func (s *Server) rotateCA(w http.ResponseWriter, r *http.Request) {
	var body api.CARotateRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, endpoint.BadRequest("", "ca rotate body: want {\"abort\": BOOL, \"force\": BOOL}: "+err.Error()))
		return
	}
	if !s.consistentRead(w, r) {
		return
	}
	cfg := s.deps.Store.Config()
	rotate := &orchpb.RotateCA{Phase: store.CAPhaseAbort, At: time.Now().UnixMilli()}
	switch {
	case body.Abort:
	case cfg.GetRotation() != nil:
		writeAny(w, http.StatusOK, s.deps.Store.CARotationStatus())
		return
	default:
		rot, err := nextCA(cfg, body.Force)
		if err != nil {
			writeError(w, &api.Error{Code: api.CodeInternal, Message: err.Error(), Status: http.StatusInternalServerError})
			return
		}
		rotate.Phase, rotate.Rotation = store.CAPhaseTrust, rot
	}
	if _, ok := s.propose(w, r, &orchpb.Command{Op: &orchpb.Command_RotateCa{RotateCa: rotate}}); !ok {
		return
	}
	writeAny(w, http.StatusOK, s.deps.Store.CARotationStatus())
}

// nextCA makes the CA that replaces cfg's, and the current CA's cross
// certificate over it.
func nextCA(cfg *orchpb.ClusterConfig, force bool) (*orchpb.CARotation, error) {
	cur, err := pki.ParseCA([]byte(cfg.GetCaCertPem()), []byte(cfg.GetCaKeyPem()))
	if err != nil {
		return nil, err
	}
	next, err := pki.NewCA()
	if err != nil {
		return nil, err
	}
	cross, err := cur.CrossSign(next)
	if err != nil {
		return nil, err
	}
	return &orchpb.CARotation{NextCertPem: string(next.CertPEM), NextKeyPem: string(next.KeyPEM()), CrossPem: string(cross),
		StartedAt: time.Now().UnixMilli(), Force: force}, nil
}

// caRotation answers the rotation's phase and who caught up with it.
func (s *Server) caRotation(w http.ResponseWriter, r *http.Request) {
	if !s.consistentRead(w, r) {
		return
	}
	writeAny(w, http.StatusOK, s.deps.Store.CARotationStatus())
}
