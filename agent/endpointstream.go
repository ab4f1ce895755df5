package agent

import (
	"context"
	"net/url"

	orchpb "github.com/orch-io/orch/proto"
)

// watchEndpoints calls handle with every update of the cluster's service
// endpoints the master pushes (the whole set first), until the stream breaks
// or ctx ends. The master sends an empty update every few seconds, so a
// silent stream is a dead one.
func (c *masterConn) watchEndpoints(ctx context.Context, nodeID string, handle func(*orchpb.EndpointUpdate)) error {
	path := "/v1/agent/nodes/" + url.PathEscape(nodeID) + "/endpoints"
	return readStream(ctx, c, streamCall{path: path, what: "endpoint"}, func() *orchpb.EndpointUpdate { return &orchpb.EndpointUpdate{} }, func(u *orchpb.EndpointUpdate) error {
		handle(u)
		return nil
	})
}
