package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"

	orchpb "github.com/orch-io/orch/proto"
)

// ReplicaFilter narrows ListReplicas; empty fields match everything.
type ReplicaFilter struct {
	Namespace string
	Service   string
	Node      string
}

func (f ReplicaFilter) query() url.Values {
	q := url.Values{}
	if f.Namespace != "" {
		q.Set("namespace", f.Namespace)
	}
	if f.Service != "" {
		q.Set("service", f.Service)
	}
	if f.Node != "" {
		q.Set("node", f.Node)
	}
	return q
}

// ListReplicas lists replicas, with the index the list reflects.
func (c *Client) ListReplicas(ctx context.Context, f ReplicaFilter) ([]*orchpb.Replica, uint64, error) {
	return list(ctx, c, "/v1/replicas", f.query(), func() *orchpb.Replica { return &orchpb.Replica{} })
}

// GetReplica returns one replica by id, or by display name (hello.2) within
// namespace ns.
func (c *Client) GetReplica(ctx context.Context, idOrName, ns string) (*orchpb.Replica, error) {
	r := &orchpb.Replica{}
	req := request{method: http.MethodGet, path: replicaPath(idOrName), query: nsQuery(ns)}
	if _, err := c.do(ctx, req, r); err != nil {
		return nil, err
	}
	return r, nil
}

// Logs streams a replica's output. tail < 0 means all that is kept; follow
// keeps the stream open for new output until ctx ends or the body is closed.
func (c *Client) Logs(ctx context.Context, idOrName, ns string, follow bool, tail int) (io.ReadCloser, error) {
	return c.ContainerLogs(ctx, idOrName, ns, "", follow, tail)
}

// ContainerLogs streams the output of one container of a replica: a
// sidecar or init container by name, the main one when container is "".
func (c *Client) ContainerLogs(ctx context.Context, idOrName, ns, container string, follow bool, tail int) (io.ReadCloser, error) {
	q := nsQuery(ns)
	if container != "" {
		q.Set("container", container)
	}
	if follow {
		q.Set("follow", "true")
	}
	if tail >= 0 {
		q.Set("tail", strconv.Itoa(tail))
	}
	resp, err := c.send(ctx, request{method: http.MethodGet, path: replicaPath(idOrName) + "/logs", query: q, stream: true})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func replicaPath(idOrName string) string { return "/v1/replicas/" + url.PathEscape(idOrName) }

func nsQuery(ns string) url.Values {
	q := url.Values{}
	if ns != "" {
		q.Set("namespace", ns)
	}
	return q
}
