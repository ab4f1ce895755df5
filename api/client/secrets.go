package client

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/orch-io/orch/api"
)

func objectPath(kind, ns, name string) string {
	if ns == "" {
		ns = DefaultNamespace
	}
	p := "/v1/namespaces/" + url.PathEscape(ns) + "/" + kind
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

func (c *Client) putJSON(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req := request{method: http.MethodPut, path: path, header: http.Header{"Content-Type": {api.ContentTypeJSON}}, body: bytes.NewReader(body)}
	_, err = c.do(ctx, req, out)
	return err
}

// PutSecret creates or replaces a secret. The answer has its keys and
// version, never its values.
func (c *Client) PutSecret(ctx context.Context, m *api.SecretManifest) (*api.SecretInfo, error) {
	var out api.SecretInfo
	if err := c.putJSON(ctx, objectPath("secrets", m.Namespace, m.Name), m, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSecret reads a secret's keys, version and users.
func (c *Client) GetSecret(ctx context.Context, ns, name string) (*api.SecretInfo, error) {
	var out api.SecretInfo
	if _, err := c.Do(ctx, http.MethodGet, objectPath("secrets", ns, name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListSecrets lists the secrets of ns, or of every namespace when ns is "".
func (c *Client) ListSecrets(ctx context.Context, ns string) ([]api.SecretInfo, error) {
	path := "/v1/secrets"
	if ns != "" {
		path = objectPath("secrets", ns, "")
	}
	var out []api.SecretInfo
	_, err := c.Do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// DeleteSecret deletes a secret no service uses.
func (c *Client) DeleteSecret(ctx context.Context, ns, name string) error {
	_, err := c.Do(ctx, http.MethodDelete, objectPath("secrets", ns, name), nil, nil)
	return err
}

// PutConfig creates or replaces a config.
func (c *Client) PutConfig(ctx context.Context, m *api.ConfigManifest) (*api.ConfigInfo, error) {
	var out api.ConfigInfo
	if err := c.putJSON(ctx, objectPath("configs", m.Namespace, m.Name), m, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetConfig reads a config, values included.
func (c *Client) GetConfig(ctx context.Context, ns, name string) (*api.ConfigInfo, error) {
	var out api.ConfigInfo
	if _, err := c.Do(ctx, http.MethodGet, objectPath("configs", ns, name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListConfigs lists the configs of ns, or of every namespace when ns is "".
func (c *Client) ListConfigs(ctx context.Context, ns string) ([]api.ConfigInfo, error) {
	path := "/v1/configs"
	if ns != "" {
		path = objectPath("configs", ns, "")
	}
	var out []api.ConfigInfo
	_, err := c.Do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// DeleteConfig deletes a config no service uses.
func (c *Client) DeleteConfig(ctx context.Context, ns, name string) error {
	_, err := c.Do(ctx, http.MethodDelete, objectPath("configs", ns, name), nil, nil)
	return err
}
