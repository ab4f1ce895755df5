package dispatcher

import (
	"io"
	"net/http"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// status takes an agent's batch of observations. It is also the agent's
// heartbeat; only statuses that differ from the store go through Raft, so a
// cluster at rest writes nothing.
func (d *Dispatcher) status(w http.ResponseWriter, r *http.Request) {
	node, ok := d.pathNode(w, r)
	if !ok {
		return
	}
	nodeID := node.GetId()
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		api.WriteError(w, &api.Error{Code: "invalid", Message: "read body: " + err.Error(), Status: http.StatusBadRequest})
		return
	}
	report, e := decodeStatusReport(body, nodeID)
	if e != nil {
		api.WriteError(w, e)
		return
	}
	if msg := d.checkStatuses(node, report.GetStatuses()); msg != "" {
		forbid(w, msg)
		return
	}
	d.beat(nodeID)
	changed := d.changedStatuses(nodeID, report.GetStatuses())
	if len(changed) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := d.statuses.submit(r.Context(), &orchpb.ReportReplicaStatus{NodeId: nodeID, Statuses: changed}); err != nil {
		api.WriteError(w, &api.Error{Code: "no_leader", Message: "record status of node " + nodeID + ": " + err.Error(), Status: http.StatusServiceUnavailable})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (d *Dispatcher) changedStatuses(nodeID string, statuses []*orchpb.ReplicaStatus) []*orchpb.ReplicaStatus {
	var changed []*orchpb.ReplicaStatus
	for _, st := range statuses {
		if store.StatusIsNews(d.deps.Store.Replica(st.GetId()), nodeID, st) {
			changed = append(changed, st)
		}
	}
	return changed
}

// decodeStatusReport parses a node's status report, which must be for
// nodeID, the node that sent it.
func decodeStatusReport(body []byte, nodeID string) (*orchpb.StatusReport, *api.Error) {
	var report orchpb.StatusReport
	if err := proto.Unmarshal(body, &report); err != nil {
		return nil, &api.Error{Code: "invalid", Message: "status report: " + err.Error(), Status: http.StatusBadRequest}
	}
	if report.GetNodeId() != nodeID {
		return nil, &api.Error{Code: "invalid", Field: "nodeId", Message: "nodeId: the report is for " + report.GetNodeId() + " but was sent to " + nodeID, Status: http.StatusBadRequest}
	}
	return &report, nil
}
