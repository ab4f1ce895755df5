package dispatcher

import (
	"net/http"
	"net/netip"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/peer"
	orchpb "github.com/orch-io/orch/proto"
)

// pathNode authorizes a call about the path's node (the node authorizer):
// the caller must present that node's client certificate, by the node's
// id and name, so that a certificate of a removed node does not act for a
// later node of the same name. The path is a claim; the certificate is the
// proof. It answers 403 (or 404 for a node that is not registered, which
// tells the agent to register again) and returns false otherwise.
func (d *Dispatcher) pathNode(w http.ResponseWriter, r *http.Request) (*orchpb.Node, bool) {
	node, e := d.callerNode(r)
	if e != nil {
		api.WriteError(w, e)
		return nil, false
	}
	return node, true
}

// callerNode is pathNode's decision without the answer: the path's node,
// or why the caller may not act for it.
func (d *Dispatcher) callerNode(r *http.Request) (*orchpb.Node, *api.Error) {
	pathID := r.PathValue("id")
	caller, ok := peer.CallerNode(r)
	if !ok {
		return nil, forbidden("the calls of node " + pathID + " need its client certificate (a bearer token only registers a new node)")
	}
	if caller.ID != pathID {
		return nil, forbidden("node " + caller.Name + " (" + caller.ID + ") may not act for node " + pathID)
	}
	node := d.deps.Store.Node(pathID)
	if node == nil {
		return nil, &api.Error{Code: api.CodeNotFound, Message: "node " + pathID + " is not registered", Status: http.StatusNotFound}
	}
	if node.GetName() != caller.Name {
		return nil, forbidden("the certificate of node " + caller.Name + " does not name node " + node.GetName() + " (" + pathID + ")")
	}
	return node, nil
}

// checkStatus refuses a status that speaks for a replica another node
// holds, or gives an address outside the node's own subnet (which the node
// DNS would then serve). rep is the store's replica, nil for one the store
// no longer has: an agent reports a deleted replica until it has stopped
// it, and the store ignores those.
func checkStatus(node *orchpb.Node, subnet netip.Prefix, rep *orchpb.Replica, st *orchpb.ReplicaStatus) string {
	if rep != nil && rep.GetNode() != node.GetId() {
		return "replica " + st.GetId() + " is not assigned to node " + node.GetName()
	}
	if st.GetIp() == "" {
		return ""
	}
	if ip, err := netip.ParseAddr(st.GetIp()); err != nil || !subnet.Contains(ip) {
		return "replica " + st.GetId() + ": address " + st.GetIp() + " is outside node " + node.GetName() + "'s subnet " + node.GetSubnet()
	}
	return ""
}

func forbid(w http.ResponseWriter, msg string) {
	api.WriteError(w, forbidden(msg))
}

func forbidden(msg string) *api.Error {
	return &api.Error{Code: api.CodeForbidden, Message: msg, Status: http.StatusForbidden}
}
