package dispatcher

import (
	"io"
	"net/http"
	"net/netip"

	"github.com/orch-io/orch/master/peer"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// status takes an agent's batch of observations. It is also the agent's
// heartbeat; only statuses that differ from the store go through Raft, so a
// cluster at rest writes nothing.
func (d *Dispatcher) status(w http.ResponseWriter, r *http.Request) {
	if !d.leads() && d.deps.Forward != nil && r.Header.Get(peer.HeaderForwarded) == "" {
		d.statusAtFollower(w, r)
		return
	}
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
	if err := d.catchUp(r.Context(), report.GetAssignmentsIndex()); err != nil {
		api.WriteError(w, &api.Error{Code: api.CodeNoLeader, Message: "record status of node " + nodeID + ": " + err.Error(), Status: http.StatusServiceUnavailable})
		return
	}
	changed, msg := d.changedStatuses(node, report.GetStatuses())
	if msg != "" {
		forbid(w, msg)
		return
	}
	d.beat(nodeID)
	d.recordVolumeUsage(r.Context(), nodeID, report.GetVolumeUsage())
	rep := &orchpb.ReportReplicaStatus{NodeId: nodeID, Statuses: changed}
	if d.deps.Store.TrustIsNews(nodeID, report.GetCaDigest(), report.GetCertIssuer()) {
		rep.CaDigest, rep.CertIssuer = report.GetCaDigest(), report.GetCertIssuer()
	}
	if len(changed) == 0 && rep.CaDigest == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := d.statuses.submit(r.Context(), rep); err != nil {
		api.WriteError(w, &api.Error{Code: "no_leader", Message: "record status of node " + nodeID + ": " + err.Error(), Status: http.StatusServiceUnavailable})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// changedStatuses returns the statuses of a report that change the store,
// or why the node may not send the report at all (checkStatus): one pass,
// one store lookup per replica, since every heartbeat carries them all.
func (d *Dispatcher) changedStatuses(node *orchpb.Node, statuses []*orchpb.ReplicaStatus) ([]*orchpb.ReplicaStatus, string) {
	subnet, err := netip.ParsePrefix(node.GetSubnet())
	if err != nil {
		return nil, "node " + node.GetName() + " has no subnet"
	}
	var changed []*orchpb.ReplicaStatus
	for _, st := range statuses {
		rep := d.deps.Store.Replica(st.GetId())
		if msg := checkStatus(node, subnet, rep, st); msg != "" {
			return nil, msg
		}
		if store.StatusIsNews(rep, node.GetId(), st) {
			changed = append(changed, st)
		}
	}
	return changed, ""
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
