package apiserver

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/controllers"
	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// canaryStage is svc's rollout when it is in its canary stage (the
// canaries run or start, the other slots wait), or an error saying why not.
func (s *Server) canaryStage(r *http.Request) (*orchpb.Service, *api.Error) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	svc := s.deps.Store.Service(ns, name)
	if svc == nil {
		return nil, endpoint.NotFound(fmt.Sprintf("service %s/%s not found", ns, name))
	}
	u := svc.GetUpdate()
	if u.GetGeneration() != svc.GetGeneration() || u.GetCanary() == 0 ||
		(u.RolloutState() != orchpb.UpdateUpdating && u.RolloutState() != orchpb.UpdatePaused) {
		return nil, &api.Error{Code: api.CodeConflict, Status: http.StatusConflict,
			Message: fmt.Sprintf("service %s/%s has no canary waiting: its rollout of generation %d is %s", ns, name, u.GetGeneration(), u.GetState())}
	}
	return svc, nil
}

// promoteService ends the canary stage: the rollout goes on to every slot.
func (s *Server) promoteService(w http.ResponseWriter, r *http.Request) {
	svc, e := s.canaryStage(r)
	if e != nil {
		writeError(w, e)
		return
	}
	cmd := &orchpb.Command{Op: &orchpb.Command_SetUpdateStatus{SetUpdateStatus: &orchpb.SetUpdateStatus{
		Namespace: svc.GetSpec().GetNamespace(), Name: svc.GetSpec().GetName(), Status: controllers.Promoted(svc, "canaries promoted")}}}
	s.answerRollout(w, r, cmd)
}

// abortService rolls a canary stage back to the previous spec; the
// replicas that never left it stay as they are.
func (s *Server) abortService(w http.ResponseWriter, r *http.Request) {
	svc, e := s.canaryStage(r)
	if e != nil {
		writeError(w, e)
		return
	}
	cmd := &orchpb.Command{Op: &orchpb.Command_RollbackService{RollbackService: &orchpb.RollbackService{
		Namespace: svc.GetSpec().GetNamespace(), Name: svc.GetSpec().GetName(), IfGeneration: svc.GetGeneration(),
		Reason: fmt.Sprintf("canary of generation %d aborted", svc.GetGeneration())}}}
	s.answerRollout(w, r, cmd)
}

func (s *Server) answerRollout(w http.ResponseWriter, r *http.Request, cmd *orchpb.Command) {
	res, ok := s.propose(w, r, cmd)
	if !ok {
		return
	}
	w.Header().Set(api.HeaderIndex, strconv.FormatUint(res.GetIndex(), 10))
	s.writeService(w, http.StatusOK, r.PathValue("ns"), r.PathValue("name"))
}

// mastersSpeakCanary refuses a canary rollout while a master of an older
// protocol still runs: the FSM would not start the canary stage (see
// store.MastersProtocol), and the user would get a plain rolling update.
func (s *Server) mastersSpeakCanary(spec *orchpb.ServiceSpec) *api.Error {
	if spec.GetUpdate().GetCanary() == 0 {
		return nil
	}
	return s.mastersSpeak(store.ProtocolCanary, "update.canary", "canary rollouts")
}

// mastersSpeak refuses a field while a master older than protocol p still
// runs, naming it: what brought the field (what) is not there yet.
func (s *Server) mastersSpeak(p api.Protocol, field, what string) *api.Error {
	oldest, who := s.deps.Store.MastersProtocol()
	if oldest.Less(p) {
		return endpoint.BadRequest(field, fmt.Sprintf("%s: master %s speaks protocol %s, which has no %s: finish upgrading the masters first (docs/upgrading.md)", field, who, oldest, what))
	}
	return nil
}
