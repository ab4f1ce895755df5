package client

import (
	"context"
	"net/http"
	"net/url"

	orchpb "github.com/orch-io/orch/proto"
)

// ApplyJob creates a job or cron job (kind Job). Putting the same job
// again changes nothing; another spec for a job is refused (409).
func (c *Client) ApplyJob(ctx context.Context, spec *orchpb.ServiceSpec, ifMatch *uint64) (*orchpb.Service, error) {
	return c.putSpec(ctx, jobPath(spec.GetNamespace(), spec.GetName()), spec, ifMatch)
}

// GetJob returns one job, its progress in status.job.
func (c *Client) GetJob(ctx context.Context, ns, name string) (*orchpb.Service, error) {
	job := &orchpb.Service{}
	if _, err := c.Do(ctx, http.MethodGet, jobPath(ns, name), nil, job); err != nil {
		return nil, err
	}
	return job, nil
}

// ListJobs lists the jobs and cron jobs of ns, or of every namespace when
// ns is empty.
func (c *Client) ListJobs(ctx context.Context, ns string) ([]*orchpb.Service, uint64, error) {
	path := "/v1/jobs"
	if ns != "" {
		path = "/v1/namespaces/" + url.PathEscape(ns) + "/jobs"
	}
	return list(ctx, c, path, nil, func() *orchpb.Service { return &orchpb.Service{} })
}

// DeleteJob removes a job with its runs, or a cron job with its jobs.
func (c *Client) DeleteJob(ctx context.Context, ns, name string) (uint64, error) {
	return c.Do(ctx, http.MethodDelete, jobPath(ns, name), nil, nil)
}

func jobPath(ns, name string) string {
	return "/v1/namespaces/" + url.PathEscape(ns) + "/jobs/" + url.PathEscape(name)
}
