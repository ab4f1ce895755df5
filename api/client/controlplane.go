package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/orch-io/orch/api"
)

// CreateToken makes a new bearer token for req.Role (admin, master, agent
// or reader), expiring after req.TTL if given. The token is in this answer
// only.
func (c *Client) CreateToken(ctx context.Context, req api.TokenRequest) (*api.Token, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var tok api.Token
	if _, err := c.Do(ctx, http.MethodPost, "/v1/tokens", bytes.NewReader(body), &tok); err != nil {
		return nil, err
	}
	return &tok, nil
}

// ListTokens lists the tokens the cluster accepts, without their secrets.
func (c *Client) ListTokens(ctx context.Context) ([]api.TokenInfo, error) {
	var list []api.TokenInfo
	if _, err := c.Do(ctx, http.MethodGet, "/v1/tokens", nil, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// RevokeToken revokes the token with this id (as ListTokens names it).
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(id), nil, nil)
	return err
}

// RemoveMaster takes the master with this Raft server id out of the cluster.
func (c *Client) RemoveMaster(ctx context.Context, id string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/v1/cluster/members/"+url.PathEscape(id), nil, nil)
	return err
}

// SaveSnapshot writes a consistent backup of the whole cluster state to w
// and returns the Raft index it reflects.
func (c *Client) SaveSnapshot(ctx context.Context, w io.Writer) (uint64, error) {
	resp, err := c.send(ctx, request{method: http.MethodGet, path: "/v1/snapshot", stream: true})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return 0, fmt.Errorf("client: snapshot: %w", err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return 0, fmt.Errorf("client: snapshot: got %d of %d bytes", n, resp.ContentLength)
	}
	return indexOf(resp), nil
}

// RotateCA starts a CA replacement, or with req.Abort undoes one still in
// its trust phase, and answers where it stands.
func (c *Client) RotateCA(ctx context.Context, req api.RotateCARequest) (*api.CARotation, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var out api.CARotation
	if _, err := c.Do(ctx, http.MethodPost, "/v1/ca/rotate", bytes.NewReader(body), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CARotation answers where a CA replacement stands.
func (c *Client) CARotation(ctx context.Context) (*api.CARotation, error) {
	var out api.CARotation
	if _, err := c.Do(ctx, http.MethodGet, "/v1/ca/rotation", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
