package dispatcher

import (
	"io"
	"net"
	"net/http"

	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/peer"
	"github.com/orch-io/orch/pki"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protojson"
)

// register adds a node, or refreshes one, and signs its certificates. A
// join token admits a new name only: an existing node registers again with
// its own client certificate, so that a holder of the join token cannot
// take over a node's name, address and overlay traffic.
func (d *Dispatcher) register(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		api.WriteError(w, &api.Error{Code: "invalid", Message: "read body: " + err.Error(), Status: http.StatusBadRequest})
		return
	}
	reg, e := decodeRegistration(body)
	if e != nil {
		api.WriteError(w, e)
		return
	}
	id, e := d.admit(r, reg.GetName())
	if e != nil {
		api.WriteError(w, e)
		return
	}
	node := &orchpb.Node{
		Id:           id,
		Name:         reg.GetName(),
		Labels:       reg.GetLabels(),
		Address:      reg.GetAddress(),
		Capacity:     reg.GetCapacity(),
		State:        string(orchpb.NodeReady),
		AgentAddress: reg.GetAgentAddress(),
		Devices:      reg.GetDevices(),
	}
	// Signed before anything is written: a bad request changes nothing.
	resp, e := d.registrationResponse(node, []byte(reg.GetCsrPem()))
	if e != nil {
		api.WriteError(w, e)
		return
	}
	cmd := &orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: node}}}
	res, err := d.deps.Proposer.Apply(r.Context(), cmd)
	if err != nil {
		api.WriteError(w, &api.Error{Code: "no_leader", Message: "register node " + reg.GetName() + ": " + err.Error(), Status: http.StatusServiceUnavailable})
		return
	}
	if e := endpoint.ResultError(res); e != nil {
		api.WriteError(w, e)
		return
	}
	stored := res.GetNode()
	resp.Node = stored
	d.beat(stored.GetId())
	d.log.Info("node registered", "node", stored.GetName(), "id", stored.GetId(), "subnet", stored.GetSubnet())
	out, err := protojson.Marshal(resp)
	if err != nil {
		api.WriteError(w, &api.Error{Code: "internal", Message: err.Error(), Status: http.StatusInternalServerError})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// decodeRegistration parses and validates a registration body.
func decodeRegistration(body []byte) (*orchpb.NodeRegistration, *api.Error) {
	var reg orchpb.NodeRegistration
	if err := protojson.Unmarshal(body, &reg); err != nil {
		return nil, &api.Error{Code: "invalid", Message: "registration: " + err.Error(), Status: http.StatusBadRequest}
	}
	if field, msg := validateRegistration(&reg); field != "" {
		return nil, &api.Error{Code: "invalid", Field: field, Message: field + ": " + msg, Status: http.StatusBadRequest}
	}
	return &reg, nil
}

// admit decides whether the caller may register name, and returns the id
// to register it under: the existing node's, for that node's own
// certificate; a new one, for a name no node holds and a caller with the
// join token.
func (d *Dispatcher) admit(r *http.Request, name string) (string, *api.Error) {
	caller, isNode := peer.CallerNode(r)
	if existing := d.deps.Store.NodeByName(name); existing != nil {
		if isNode && caller.ID == existing.GetId() && caller.Name == name {
			return existing.GetId(), nil
		}
		return "", &api.Error{Code: api.CodeConflict, Status: http.StatusConflict,
			Message: "node " + name + " is already registered: only its own client certificate registers it again; to give the name to another machine, run `orchctl node remove " + name + "` first"}
	}
	if r.Header.Get("Authorization") == "" {
		// A certificate (of a removed node) does not admit a new one.
		return "", &api.Error{Code: api.CodeForbidden, Status: http.StatusForbidden,
			Message: "node " + name + " is not registered: a new node needs the join token"}
	}
	return newNodeID(), nil
}

// registrationResponse signs the node's certificates for its key: a
// client certificate naming the node, and a server certificate for its
// agent endpoint at the addresses the master registered.
func (d *Dispatcher) registrationResponse(stored *orchpb.Node, csrPEM []byte) (*orchpb.NodeRegistrationResponse, *api.Error) {
	resp := &orchpb.NodeRegistrationResponse{CaPem: string(d.deps.CA.CertPEM()), ClusterCidr: d.deps.Store.ClusterCIDR()}
	id := pki.NodeIdentity{Name: stored.GetName(), ID: stored.GetId()}
	client, err := d.deps.CA.SignNodeClient(csrPEM, id)
	if err != nil {
		return nil, &api.Error{Code: "invalid", Field: "csrPem", Message: "csrPem: " + err.Error(), Status: http.StatusBadRequest}
	}
	hosts := []string{stored.GetAddress()}
	if host, _, err := net.SplitHostPort(stored.GetAgentAddress()); err == nil && host != stored.GetAddress() {
		hosts = append(hosts, host)
	}
	server, err := d.deps.CA.SignNodeServer(csrPEM, id, hosts)
	if err != nil {
		return nil, &api.Error{Code: "invalid", Field: "csrPem", Message: "csrPem: " + err.Error(), Status: http.StatusBadRequest}
	}
	resp.CertificatePem, resp.ServerCertificatePem = string(client), string(server)
	return resp, nil
}

func validateRegistration(reg *orchpb.NodeRegistration) (field, msg string) {
	switch {
	case reg.GetName() == "":
		return "name", "required"
	case len(reg.GetName()) > 253:
		return "name", "at most 253 characters"
	case net.ParseIP(reg.GetAddress()) == nil:
		return "address", "want an IP address, got " + reg.GetAddress()
	case reg.GetCsrPem() == "":
		return "csrPem", "required: the node's certificate request"
	case reg.GetCapacity().GetCpuMillis() < 0 || reg.GetCapacity().GetMemoryBytes() < 0:
		return "capacity", "must not be negative"
	}
	if reg.GetAgentAddress() != "" {
		if _, _, err := net.SplitHostPort(reg.GetAgentAddress()); err != nil {
			return "agentAddress", "want HOST:PORT: " + err.Error()
		}
	}
	return api.CheckDeviceGroups(reg.GetDevices())
}
