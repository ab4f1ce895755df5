package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
)

// ListNodes lists the nodes, with the index the list reflects.
func (c *Client) ListNodes(ctx context.Context) ([]*orchpb.Node, uint64, error) {
	return list(ctx, c, "/v1/nodes", nil, func() *orchpb.Node { return &orchpb.Node{} })
}

// GetNode returns one node by id or name.
func (c *Client) GetNode(ctx context.Context, idOrName string) (*orchpb.Node, error) {
	n := &orchpb.Node{}
	if _, err := c.Do(ctx, http.MethodGet, "/v1/nodes/"+url.PathEscape(idOrName), nil, n); err != nil {
		return nil, err
	}
	return n, nil
}

// Cluster returns the masters, the leader and the Raft index.
func (c *Client) Cluster(ctx context.Context) (*api.Cluster, error) {
	var cl api.Cluster
	if _, err := c.Do(ctx, http.MethodGet, "/v1/cluster", nil, &cl); err != nil {
		return nil, err
	}
	return &cl, nil
}

// Healthz checks that a master answers; it needs no token.
func (c *Client) Healthz(ctx context.Context) error {
	_, err := c.Do(ctx, http.MethodGet, "/healthz", nil, nil)
	return err
}

// RemoveNode removes a node, freeing its name and subnet; force removes a
// live node that still holds replicas.
func (c *Client) RemoveNode(ctx context.Context, idOrName string, force bool) error {
	path := "/v1/nodes/" + url.PathEscape(idOrName)
	if force {
		path += "?force=true"
	}
	_, err := c.Do(ctx, http.MethodDelete, path, nil, nil)
	return err
}

// ServerProtocol asks a master which protocol version it speaks (the
// answer's api.HeaderProtocol; none is a v0.1.0 master). It needs no token.
func (c *Client) ServerProtocol(ctx context.Context) (api.Protocol, error) {
	resp, err := c.send(ctx, request{method: http.MethodGet, path: "/healthz"})
	if err != nil {
		return api.Protocol{}, err
	}
	resp.Body.Close()
	return api.ParseProtocol(resp.Header.Get(api.HeaderProtocol))
}
