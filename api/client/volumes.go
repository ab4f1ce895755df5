package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	orchpb "github.com/orch-io/orch/proto"
)

// ListVolumes lists the persistent volumes of ns, or of every namespace
// when ns is "".
func (c *Client) ListVolumes(ctx context.Context, ns string) ([]*orchpb.Volume, error) {
	path := "/v1/volumes"
	if ns != "" {
		path = objectPath("volumes", ns, "")
	}
	out, _, err := list(ctx, c, path, nil, func() *orchpb.Volume { return &orchpb.Volume{} })
	return out, err
}

// ForgetVolume releases one slot's volume, so that the slot may start
// empty on another node; with node set, only while the volume is still
// there.
func (c *Client) ForgetVolume(ctx context.Context, ns, service string, slot int32, name, node string) error {
	path := servicePath(ns, service) + "/volumes/" + strconv.Itoa(int(slot)) + "/" + url.PathEscape(name)
	if node != "" {
		path += "?node=" + url.QueryEscape(node)
	}
	_, err := c.Do(ctx, http.MethodDelete, path, nil, nil)
	return err
}

// DeleteServiceAndVolumes deletes a service and its slots' persistent
// volumes (their data too); for a service deleted earlier, its volumes.
func (c *Client) DeleteServiceAndVolumes(ctx context.Context, ns, name string) (uint64, error) {
	return c.Do(ctx, http.MethodDelete, servicePath(ns, name)+"?volumes=true", nil, nil)
}
