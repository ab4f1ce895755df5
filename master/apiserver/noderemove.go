package apiserver

import (
	"fmt"
	"net/http"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// removeNode deletes a node and frees its name and subnet: the only way to
// give its name to another machine, since a join token admits only a name
// no node holds. A node that is not down and still holds replicas is
// refused unless ?force=true: its agent would go on running them
// unassigned, and removing it loses them.
func (s *Server) removeNode(w http.ResponseWriter, r *http.Request) {
	n := s.findNode(r.PathValue("id"))
	if n == nil {
		writeError(w, endpoint.NotFound("node "+r.PathValue("id")+" not found"))
		return
	}
	if r.URL.Query().Get("force") != "true" && n.Status() != orchpb.NodeDown {
		if live := liveReplicas(s.deps.Store, n.GetId()); live > 0 {
			writeError(w, &api.Error{Code: api.CodeConflict, Status: http.StatusConflict,
				Message: fmt.Sprintf("node %s is %s and holds %d replicas: drain it first (orchctl node drain %s), or remove it with --force", n.GetName(), n.GetState(), live, n.GetName())})
			return
		}
	}
	cmd := &orchpb.Command{Op: &orchpb.Command_RemoveNode{RemoveNode: &orchpb.RemoveNode{NodeId: n.GetId()}}}
	if _, ok := s.propose(w, r, cmd); !ok {
		return
	}
	writeAny(w, http.StatusOK, removedNode{Removed: n.GetName()})
}

// removedNode is the answer to a node removal: the node's name.
type removedNode struct {
	Removed string `json:"removed"`
}

func liveReplicas(st *store.Store, nodeID string) int {
	live := 0
	for _, rep := range st.Replicas(store.ReplicaFilter{Node: nodeID}) {
		if !rep.Terminal() {
			live++
		}
	}
	return live
}
