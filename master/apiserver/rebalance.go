package apiserver

import (
	"net/http"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/controllers"
	"github.com/orch-io/orch/master/endpoint"
)

var dryRunParam = endpoint.Query("dryRun", "true shows the moves and changes nothing")

// rebalance answers POST /v1/rebalance: the moves that restore spread,
// planned on a consistent read and, unless ?dryRun=true, marked through
// Raft for the service controller to make (replacement first). The plan
// is the controllers' (RebalancePlan); this handler only proposes it.
func (s *Server) rebalance(w http.ResponseWriter, r *http.Request) {
	if !s.consistentRead(w, r) {
		return
	}
	moves, cmd := controllers.RebalancePlan(s.deps.Store)
	out := api.Rebalance{DryRun: r.URL.Query().Get("dryRun") == "true", Moves: moves}
	if out.Moves == nil {
		out.Moves = []api.RebalanceMove{}
	}
	if !out.DryRun && cmd != nil {
		res, ok := s.propose(w, r, cmd)
		if !ok {
			return
		}
		out.Rejected = res.GetRejected()
	}
	writeAny(w, http.StatusOK, out)
}
