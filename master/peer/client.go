package peer

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/orch-io/orch/pki"

	"github.com/orch-io/orch/api"
)

// Client calls other masters as a master: with this master's certificate,
// accepting only masters' certificates back. Safe for concurrent use.
type Client struct {
	http *http.Client
}

// NewClient builds a client presenting cert as it is at each handshake.
func NewClient(ca *pki.CA, cert *pki.LiveCert) *Client {
	return &Client{http: &http.Client{Transport: api.VersionTransport{Base: newTransport(ca.MasterClientTLS(cert))}}}
}

// newTransport is for calls between masters: HTTP/2 (many concurrent calls
// share one connection) and a short dial timeout, so a dead master is
// noticed quickly.
func newTransport(tc *tls.Config) *http.Transport {
	return &http.Transport{
		TLSClientConfig:     tc,
		ForceAttemptHTTP2:   true,
		DialContext:         (&net.Dialer{Timeout: time.Second, KeepAlive: 15 * time.Second}).DialContext,
		TLSHandshakeTimeout: 2 * time.Second,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
}

// RelayBeats hands the leader at base the nodes this follower heard (the
// body of PathBeats).
func (c *Client) RelayBeats(ctx context.Context, base string, nodes []string) error {
	if err := doJSON(ctx, c.http, http.MethodPost, base+PathBeats, "", Beats{Nodes: nodes}, nil); err != nil {
		return fmt.Errorf("peer: relay %d heartbeats to %s: %w", len(nodes), base, err)
	}
	return nil
}

// ReadIndex asks the leader at base for a read index.
func (c *Client) ReadIndex(ctx context.Context, base string) (uint64, error) {
	var out ReadIndex
	if err := doJSON(ctx, c.http, http.MethodGet, base+PathReadIndex, "", nil, &out); err != nil {
		return 0, fmt.Errorf("peer: read index from %s: %w", base, err)
	}
	return out.Index, nil
}

// Self asks the master at base how it is doing.
func (c *Client) Self(ctx context.Context, base string) (*api.Member, error) {
	var out api.Member
	if err := doJSON(ctx, c.http, http.MethodGet, base+PathSelf, "", nil, &out); err != nil {
		return nil, fmt.Errorf("peer: status of %s: %w", base, err)
	}
	return &out, nil
}

// AddMember asks the master at base (forwarded to the leader) to record m
// and make it a voter. It is idempotent.
func (c *Client) AddMember(ctx context.Context, base string, m Member) error {
	if err := doJSON(ctx, c.http, http.MethodPost, base+PathMembers, "", m, nil); err != nil {
		return fmt.Errorf("peer: add member %s via %s: %w", m.ID, base, err)
	}
	return nil
}

// RemoveMember asks the master at base (forwarded to the leader) to remove
// the master id from the cluster.
func (c *Client) RemoveMember(ctx context.Context, base, id string) error {
	if err := doJSON(ctx, c.http, http.MethodDelete, base+PathMembers+"/"+url.PathEscape(id), "", nil, nil); err != nil {
		return fmt.Errorf("peer: remove member %s via %s: %w", id, base, err)
	}
	return nil
}

// doJSON sends in (if not nil) as JSON and decodes a 2xx answer into out
// (if not nil). A non-2xx answer is a *api.Error.
func doJSON(ctx context.Context, hc *http.Client, method, u, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", api.ContentTypeJSON)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return api.DecodeError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

func trimURL(u string) string { return strings.TrimRight(strings.TrimSpace(u), "/") }

// UpdateMember asks the leader at base to correct m's record (m must
// already be a member).
func (c *Client) UpdateMember(ctx context.Context, base string, m Member) error {
	if err := doJSON(ctx, c.http, http.MethodPut, base+PathMembers+"/"+url.PathEscape(m.ID), "", m, nil); err != nil {
		return fmt.Errorf("peer: update member %s via %s: %w", m.ID, base, err)
	}
	return nil
}

// ReportTokenUse tells the leader at base when this master last accepted
// each token.
func (c *Client) ReportTokenUse(ctx context.Context, base string, u TokenUse) error {
	if err := doJSON(ctx, c.http, http.MethodPost, base+PathTokenUse, "", u, nil); err != nil {
		return fmt.Errorf("peer: report token use to %s: %w", base, err)
	}
	return nil
}

// FetchImage downloads a loaded image's tarball from the master at base,
// as an agent would.
func (c *Client) FetchImage(ctx context.Context, base, name string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/images/tarball?name="+url.QueryEscape(name), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("peer: image %s from %s: %w", name, base, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("peer: image %s from %s: %w", name, base, api.DecodeError(resp.StatusCode, data))
	}
	return resp.Body, nil
}
