package client

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/orch-io/orch/api"
)

// RotateCA starts a CA rotation (or, with req.Abort, ends one still in
// phase trust) and returns its status; one already under way is left
// alone (docs/ca-rotation.md).
func (c *Client) RotateCA(ctx context.Context, req api.CARotateRequest) (*api.CARotationStatus, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	out := &api.CARotationStatus{}
	if _, err := c.Do(ctx, http.MethodPost, "/v1/ca/rotate", bytes.NewReader(body), out); err != nil {
		return nil, err
	}
	return out, nil
}

// CARotation is the status of the CA rotation under way (Phase "" when
// none).
func (c *Client) CARotation(ctx context.Context) (*api.CARotationStatus, error) {
	out := &api.CARotationStatus{}
	if _, err := c.Do(ctx, http.MethodGet, "/v1/ca/rotate", nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// CA is what GET /v1/ca serves: the cluster CA's certificate first (PEM),
// then after a rotation the cross certificate and the retired CA.
func (c *Client) CA(ctx context.Context) ([]byte, error) {
	var out []byte
	if _, err := c.Do(ctx, http.MethodGet, "/v1/ca", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}
