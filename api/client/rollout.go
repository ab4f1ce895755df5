package client

import (
	"bytes"
	"context"
	"net/http"
	"net/url"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
)

// Plan asks for the dry run of a manifest (one or several documents, YAML
// or JSON): for each service, the diff and where its new replicas would
// go. Nothing changes.
func (c *Client) Plan(ctx context.Context, manifest []byte) ([]api.Plan, error) {
	req := request{method: http.MethodPost, path: "/v1/plan", body: bytes.NewReader(manifest),
		header: http.Header{"Content-Type": {"application/yaml"}}}
	var plans []api.Plan
	if _, err := c.do(ctx, req, &plans); err != nil {
		return nil, err
	}
	return plans, nil
}

// RollbackService makes the service's previous spec current again; the
// controllers roll it out like any update.
func (c *Client) RollbackService(ctx context.Context, ns, name string) (*orchpb.Service, error) {
	svc := &orchpb.Service{}
	if _, err := c.Do(ctx, http.MethodPost, servicePath(ns, name)+"/rollback", nil, svc); err != nil {
		return nil, err
	}
	return svc, nil
}

// SetNodeState drains, cordons or uncordons a node (by id or name):
// action is "drain", "cordon" or "uncordon".
func (c *Client) SetNodeState(ctx context.Context, idOrName, action string) (*orchpb.Node, error) {
	n := &orchpb.Node{}
	if _, err := c.Do(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(idOrName)+"/"+url.PathEscape(action), nil, n); err != nil {
		return nil, err
	}
	return n, nil
}

// PromoteService promotes a canary rollout: the other slots follow.
func (c *Client) PromoteService(ctx context.Context, ns, name string) (*orchpb.Service, error) {
	svc := &orchpb.Service{}
	if _, err := c.Do(ctx, http.MethodPost, servicePath(ns, name)+"/promote", nil, svc); err != nil {
		return nil, err
	}
	return svc, nil
}

// AbortService aborts a canary rollout: back to the previous spec.
func (c *Client) AbortService(ctx context.Context, ns, name string) (*orchpb.Service, error) {
	svc := &orchpb.Service{}
	if _, err := c.Do(ctx, http.MethodPost, servicePath(ns, name)+"/abort", nil, svc); err != nil {
		return nil, err
	}
	return svc, nil
}

// Rebalance plans the moves that restore spread and, unless dryRun, has
// the cluster make them (replacement first, within disruption budgets).
func (c *Client) Rebalance(ctx context.Context, dryRun bool) (*api.Rebalance, error) {
	path := "/v1/rebalance"
	if dryRun {
		path += "?dryRun=true"
	}
	out := &api.Rebalance{}
	if _, err := c.Do(ctx, http.MethodPost, path, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}
