package apiserver

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/orch-io/orch/master/endpoint"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/controllers"
	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
)

// rollbackService makes the previous spec current again, as a new
// generation rolled out like any update.
func (s *Server) rollbackService(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	cmd := &orchpb.Command{Op: &orchpb.Command_RollbackService{RollbackService: &orchpb.RollbackService{
		Namespace: ns, Name: name, Reason: "rollback requested"}}}
	res, ok := s.propose(w, r, cmd)
	if !ok {
		return
	}
	w.Header().Set(api.HeaderIndex, strconv.FormatUint(res.GetIndex(), 10))
	s.writeService(w, http.StatusOK, ns, name)
}

// maxPlanDocuments bounds a plan: each document runs the scheduler over
// every node (and a replicated count can ask for many replicas), so an
// unbounded list is unbounded leader CPU that any reader token could ask
// for. Real manifests hold a handful of services.
const maxPlanDocuments = 100

// plan is the dry run of a manifest (one or several services): the diff
// and where each new replica would go, or why it cannot. It changes
// nothing; the planning is the controllers' own, run on a scratch copy.
func (s *Server) plan(w http.ResponseWriter, r *http.Request) {
	body, ok := readManifest(w, r)
	if !ok {
		return
	}
	specs, err := manifest.Parse(body)
	if err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return
	}
	if len(specs) > maxPlanDocuments {
		writeError(w, endpoint.BadRequest("", fmt.Sprintf("a plan takes at most %d documents, this one has %d: plan the manifests in parts", maxPlanDocuments, len(specs))))
		return
	}
	for _, spec := range specs {
		if err := s.hostPorts().Check(spec); err != nil {
			writeError(w, err)
			return
		}
	}
	if !s.consistentRead(w, r) {
		return
	}
	plans, err := controllers.Plan(s.deps.Store, specs)
	if err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return
	}
	writeAny(w, http.StatusOK, plans)
}
