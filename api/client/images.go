package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
)

// LoadImage uploads an OCI image tarball into the cluster and returns the
// images (one per name in the tarball) it now holds.
func (c *Client) LoadImage(ctx context.Context, r io.Reader) ([]*orchpb.Image, error) {
	req := request{
		method: http.MethodPost,
		path:   "/v1/images",
		header: http.Header{"Content-Type": {api.ContentTypeTar}},
		body:   r,
		stream: true, // a large tarball on a slow link must not hit the timeout
	}
	var raw []byte
	if _, err := c.do(ctx, req, &raw); err != nil {
		return nil, err
	}
	// Tolerate a single object as well as the array, so the call does not
	// break if the server ever answers for a one-name tarball alone.
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
		img := &orchpb.Image{}
		if err := api.Unmarshal(t, img); err != nil {
			return nil, fmt.Errorf("client: POST /v1/images: %w", err)
		}
		return []*orchpb.Image{img}, nil
	}
	imgs, err := api.UnmarshalList(raw, func() *orchpb.Image { return &orchpb.Image{} })
	if err != nil {
		return nil, fmt.Errorf("client: POST /v1/images: %w", err)
	}
	return imgs, nil
}

// ListImages lists the images loaded into the cluster.
func (c *Client) ListImages(ctx context.Context) ([]*orchpb.Image, uint64, error) {
	return list(ctx, c, "/v1/images", nil, func() *orchpb.Image { return &orchpb.Image{} })
}
