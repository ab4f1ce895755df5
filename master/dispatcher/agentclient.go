package dispatcher

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/orch-io/orch/pki"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
)

// agentClient calls agents' own HTTPS endpoints with mutual TLS: the agent's
// certificate must be signed by the cluster CA and name the node the master
// meant to call, and the master presents its own.
type agentClient struct {
	tls *tls.Config
	ca  *pki.CA
}

func newAgentClient(ca *pki.CA, cert *pki.LiveCert) *agentClient {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if cert != nil {
		tlsConf.GetClientCertificate = cert.GetClientCertificate
	}
	return &agentClient{tls: tlsConf, ca: ca}
}

// client is an HTTP client that accepts only node's agent. Connections are
// not pooled: logs and exec are rare, and a pooled connection verified for
// one node must never carry a call meant for another at the same address.
func (c *agentClient) client(node *orchpb.Node) *http.Client {
	tc := c.tls.Clone()
	if c.ca != nil {
		// The CAs trusted now: two during a CA replacement.
		tc.RootCAs = c.ca.Pool()
	}
	tc.VerifyConnection = pki.CheckServerIsNode(pki.NodeIdentity{Name: node.GetName(), ID: node.GetId()})
	return &http.Client{Transport: api.VersionTransport{Base: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}}
}

func (c *agentClient) logs(ctx context.Context, node *orchpb.Node, replica *orchpb.Replica, container string, follow bool, tail int) (io.ReadCloser, error) {
	if node.GetAgentAddress() == "" {
		return nil, &api.Error{Code: "not_found", Message: "node " + node.GetName() + " has no agent endpoint for logs", Status: http.StatusNotFound}
	}
	q := url.Values{}
	q.Set("follow", strconv.FormatBool(follow))
	q.Set("tail", strconv.Itoa(tail))
	if container != "" {
		q.Set("container", container)
	}
	u := "https://" + node.GetAgentAddress() + "/v1/logs/" + url.PathEscape(replica.GetId()) + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("dispatcher: logs of %s: %w", replica.GetId(), err)
	}
	resp, err := c.client(node).Do(req)
	if err != nil {
		return nil, &api.Error{Code: "unavailable", Message: "agent of node " + node.GetName() + " did not answer: " + err.Error(), Status: http.StatusBadGateway}
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if e := api.DecodeError(resp.StatusCode, body); e != nil {
			return nil, e
		}
		return nil, &api.Error{Code: "unavailable", Message: "agent of node " + node.GetName() + ": " + resp.Status, Status: http.StatusBadGateway}
	}
	return resp.Body, nil
}

// metrics reads the agent's Prometheus metrics.
func (c *agentClient) metrics(ctx context.Context, node *orchpb.Node) (io.ReadCloser, error) {
	if node.GetAgentAddress() == "" {
		return nil, &api.Error{Code: api.CodeNotFound, Message: "node " + node.GetName() + " has no agent endpoint for metrics", Status: http.StatusNotFound}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+node.GetAgentAddress()+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("dispatcher: metrics of node %s: %w", node.GetName(), err)
	}
	resp, err := c.client(node).Do(req)
	if err != nil {
		return nil, &api.Error{Code: "unavailable", Message: "agent of node " + node.GetName() + " did not answer: " + err.Error(), Status: http.StatusBadGateway}
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, &api.Error{Code: "unavailable", Message: "agent of node " + node.GetName() + ": metrics: " + resp.Status, Status: http.StatusBadGateway}
	}
	return resp.Body, nil
}

// exec opens an exec session on the node's agent and returns the upgraded
// connection, over which the master only copies bytes.
func (c *agentClient) exec(ctx context.Context, node *orchpb.Node, replica *orchpb.Replica, req api.ExecRequest) (io.ReadWriteCloser, error) {
	if node.GetAgentAddress() == "" {
		return nil, &api.Error{Code: api.CodeNotFound, Message: "node " + node.GetName() + " has no agent endpoint for exec", Status: http.StatusNotFound}
	}
	u := "https://" + node.GetAgentAddress() + "/v1/exec/" + url.PathEscape(replica.GetId()) + "?" + req.Query().Encode()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return nil, fmt.Errorf("dispatcher: exec in %s: %w", replica.GetId(), err)
	}
	hreq.Header.Set("Connection", "Upgrade")
	hreq.Header.Set("Upgrade", api.ExecProtocol)
	resp, err := c.client(node).Do(hreq)
	if err != nil {
		return nil, &api.Error{Code: "unavailable", Message: "agent of node " + node.GetName() + " did not answer: " + err.Error(), Status: http.StatusBadGateway}
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if e := api.DecodeError(resp.StatusCode, body); e != nil {
			return nil, e
		}
		return nil, &api.Error{Code: "unavailable", Message: "agent of node " + node.GetName() + ": " + resp.Status, Status: http.StatusBadGateway}
	}
	conn, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		return nil, &api.Error{Code: "unavailable", Message: "agent of node " + node.GetName() + " switched protocols but gave no connection", Status: http.StatusBadGateway}
	}
	return conn, nil
}
