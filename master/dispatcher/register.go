package dispatcher

import (
	"io"
	"net"
	"net/http"

	"github.com/orch-io/orch/master/endpoint"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protojson"
)

// register adds or refreshes a node and signs its agent's certificate.
func (d *Dispatcher) register(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		api.WriteError(w, &api.Error{Code: "invalid", Message: "read body: " + err.Error(), Status: http.StatusBadRequest})
		return
	}
	var reg orchpb.NodeRegistration
	if err := protojson.Unmarshal(body, &reg); err != nil {
		api.WriteError(w, &api.Error{Code: "invalid", Message: "registration: " + err.Error(), Status: http.StatusBadRequest})
		return
	}
	if field, msg := validateRegistration(&reg); field != "" {
		api.WriteError(w, &api.Error{Code: "invalid", Field: field, Message: field + ": " + msg, Status: http.StatusBadRequest})
		return
	}
	id := newNodeID()
	if existing := d.deps.Store.NodeByName(reg.GetName()); existing != nil {
		id = existing.GetId()
	}
	node := &orchpb.Node{
		Id:           id,
		Name:         reg.GetName(),
		Labels:       reg.GetLabels(),
		Address:      reg.GetAddress(),
		Capacity:     reg.GetCapacity(),
		State:        string(orchpb.NodeReady),
		AgentAddress: reg.GetAgentAddress(),
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
	resp := &orchpb.NodeRegistrationResponse{Node: stored, CaPem: string(d.deps.CA.CertPEM), ClusterCidr: store.DefaultClusterCIDR}
	if cfg := d.deps.Store.Config(); cfg.GetClusterCidr() != "" {
		resp.ClusterCidr = cfg.GetClusterCidr()
	}
	if reg.GetCsrPem() != "" {
		hosts := []string{reg.GetAddress(), reg.GetName(), "localhost", "127.0.0.1"}
		if host, _, err := net.SplitHostPort(reg.GetAgentAddress()); err == nil {
			hosts = append(hosts, host)
		}
		cert, err := d.deps.CA.SignCSR([]byte(reg.GetCsrPem()), "node:"+stored.GetName(), hosts)
		if err != nil {
			api.WriteError(w, &api.Error{Code: "invalid", Field: "csrPem", Message: "csrPem: " + err.Error(), Status: http.StatusBadRequest})
			return
		}
		resp.CertificatePem = string(cert)
	}
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

func validateRegistration(reg *orchpb.NodeRegistration) (field, msg string) {
	switch {
	case reg.GetName() == "":
		return "name", "required"
	case len(reg.GetName()) > 253:
		return "name", "at most 253 characters"
	case net.ParseIP(reg.GetAddress()) == nil:
		return "address", "want an IP address, got " + reg.GetAddress()
	case reg.GetCapacity().GetCpuMillis() < 0 || reg.GetCapacity().GetMemoryBytes() < 0:
		return "capacity", "must not be negative"
	}
	if reg.GetAgentAddress() != "" {
		if _, _, err := net.SplitHostPort(reg.GetAgentAddress()); err != nil {
			return "agentAddress", "want HOST:PORT: " + err.Error()
		}
	}
	return "", ""
}
