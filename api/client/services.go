package client

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
)

// DefaultNamespace is used when a namespace is left empty: the namespace
// admission gives a spec that names none.
const DefaultNamespace = orchpb.DefaultNamespace

func servicePath(ns, name string) string {
	if ns == "" {
		ns = DefaultNamespace
	}
	return "/v1/namespaces/" + url.PathEscape(ns) + "/services/" + url.PathEscape(name)
}

// ApplyService creates or replaces the service spec describes. With ifMatch
// set, the write happens only if the stored version still equals it (0: the
// service must not exist yet); otherwise the answer is a conflict.
func (c *Client) ApplyService(ctx context.Context, spec *orchpb.ServiceSpec, ifMatch *uint64) (*orchpb.Service, error) {
	return c.putSpec(ctx, servicePath(spec.GetNamespace(), spec.GetName()), spec, ifMatch)
}

// putSpec PUTs spec at path, If-Match ifMatch when set, and returns the
// object as stored.
func (c *Client) putSpec(ctx context.Context, path string, spec *orchpb.ServiceSpec, ifMatch *uint64) (*orchpb.Service, error) {
	body, err := api.MarshalSpec(spec)
	if err != nil {
		return nil, err
	}
	req := request{
		method: http.MethodPut,
		path:   path,
		header: http.Header{"Content-Type": {api.ContentTypeJSON}},
		body:   bytes.NewReader(body),
	}
	if ifMatch != nil {
		req.header.Set(api.HeaderIfMatch, strconv.FormatUint(*ifMatch, 10))
	}
	svc := &orchpb.Service{}
	if _, err := c.do(ctx, req, svc); err != nil {
		return nil, err
	}
	return svc, nil
}

// GetService returns one service.
func (c *Client) GetService(ctx context.Context, ns, name string) (*orchpb.Service, error) {
	svc := &orchpb.Service{}
	if _, err := c.Do(ctx, http.MethodGet, servicePath(ns, name), nil, svc); err != nil {
		return nil, err
	}
	return svc, nil
}

// ListServices lists the services of ns, or of every namespace when ns is
// empty, with the index the list reflects (to watch from).
func (c *Client) ListServices(ctx context.Context, ns string) ([]*orchpb.Service, uint64, error) {
	path := "/v1/services"
	if ns != "" {
		path = "/v1/namespaces/" + url.PathEscape(ns) + "/services"
	}
	return list(ctx, c, path, nil, func() *orchpb.Service { return &orchpb.Service{} })
}

// DeleteService removes a service and, through the controllers, its
// replicas. It returns the index of the deletion.
func (c *Client) DeleteService(ctx context.Context, ns, name string) (uint64, error) {
	return c.Do(ctx, http.MethodDelete, servicePath(ns, name), nil, nil)
}

// ScaleService sets a replicated service's replica count.
func (c *Client) ScaleService(ctx context.Context, ns, name string, n int32) (*orchpb.Service, error) {
	body := fmt.Sprintf(`{"replicas":%d}`, n)
	svc := &orchpb.Service{}
	if _, err := c.Do(ctx, http.MethodPost, servicePath(ns, name)+"/scale", bytes.NewReader([]byte(body)), svc); err != nil {
		return nil, err
	}
	return svc, nil
}
