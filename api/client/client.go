package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/pki"
	"google.golang.org/protobuf/proto"
)

// Defaults, overridable with options.
const (
	DefaultTimeout = 30 * time.Second
	// DefaultWatchIdleTimeout is three of the server's 15 s keepalives: a
	// stream silent that long is a dead connection, not a quiet cluster.
	DefaultWatchIdleTimeout = 45 * time.Second
)

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = 1 << 20

// Client talks to the API of one cluster. It is safe for concurrent use.
type Client struct {
	servers     []*url.URL
	token       string
	http        *http.Client
	timeout     time.Duration
	watchIdle   time.Duration
	preferred   atomic.Int32 // the server that answered last
	cfgServers  string
	userAgent   string
	tlsOverride *tls.Config
}

// Option changes a Client built by New.
type Option func(*Client)

// WithHTTPClient uses hc as it is; the config's CA is then not applied.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithTimeout bounds each request that is not a stream (logs, watch and
// image uploads are not bounded). Zero means no bound.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithWatchIdleTimeout ends a watch whose stream has been silent this long.
// Zero disables the check.
func WithWatchIdleTimeout(d time.Duration) Option { return func(c *Client) { c.watchIdle = d } }

// WithTLSConfig starts from tc (for a client certificate, say); the config's
// CA fills RootCAs when tc has none.
func WithTLSConfig(tc *tls.Config) Option { return func(c *Client) { c.tlsOverride = tc } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New builds a client for cfg. cfg.Server may list several URLs separated
// by commas; requests go to the one that answered last and move on to the
// next on a connection error or a 503.
func New(cfg *Config, opts ...Option) (*Client, error) {
	if cfg == nil {
		return nil, errors.New("client: nil config")
	}
	c := &Client{
		token:      cfg.Token,
		timeout:    DefaultTimeout,
		watchIdle:  DefaultWatchIdleTimeout,
		cfgServers: cfg.Server,
		userAgent:  "orch-client",
	}
	for _, o := range opts {
		o(c)
	}
	for _, s := range strings.Split(cfg.Server, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("client: server %q: %w", s, err)
		}
		if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("client: server %q: want https://HOST:PORT", s)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		c.servers = append(c.servers, u)
	}
	if len(c.servers) == 0 {
		return nil, errors.New("client: no server: set server in the config or pass --server")
	}
	if c.http == nil {
		tc, err := tlsConfig(cfg.CA, c.tlsOverride)
		if err != nil {
			return nil, err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		c.http = &http.Client{Transport: tr}
	}
	return c, nil
}

// tlsConfig trusts the cluster CA. ca is PEM; for hand-written configs a
// path to a PEM file is accepted too.
func tlsConfig(ca string, base *tls.Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		tc = base.Clone()
	}
	if tc.VerifyConnection == nil {
		// Every node holds a certificate of the cluster CA: only a
		// master's may receive the token.
		tc.VerifyConnection = pki.CheckServerIsMaster
	}
	if ca == "" || tc.RootCAs != nil {
		return tc, nil
	}
	pemData := []byte(ca)
	if !strings.Contains(ca, "-----BEGIN") {
		b, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("client: ca: neither PEM nor a readable file: %w", err)
		}
		pemData = b
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, errors.New("client: ca: no certificate in the PEM")
	}
	tc.RootCAs = pool
	return tc, nil
}

// Servers returns the server URLs, in configured order.
func (c *Client) Servers() []string {
	out := make([]string, len(c.servers))
	for i, u := range c.servers {
		out[i] = u.String()
	}
	return out
}

// request is one API call before it is sent to a server.
type request struct {
	method string
	path   string // may carry a query string
	query  url.Values
	header http.Header
	body   io.Reader
	// stream: the caller reads the body as it arrives, so no timeout.
	stream bool
	// upgrade, when set, asks to switch the connection to this protocol
	// (over HTTP/1.1: HTTP/2 has no upgrade); only 101 is success then.
	upgrade string
}

// Do sends one request with a JSON body (nil for none) and decodes a 2xx
// answer into out: a proto.Message in its wire form (a Service flat), a
// *[]byte for the raw body, anything else through encoding/json, or nil.
// It returns the X-Orch-Index of the answer. A non-2xx answer is a
// *api.Error.
func (c *Client) Do(ctx context.Context, method, path string, body io.Reader, out any) (uint64, error) {
	req := request{method: method, path: path, body: body}
	if body != nil {
		req.header = http.Header{"Content-Type": {api.ContentTypeJSON}}
	}
	return c.do(ctx, req, out)
}

func (c *Client) do(ctx context.Context, req request, out any) (uint64, error) {
	if c.timeout > 0 && !req.stream {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	resp, err := c.send(ctx, req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("client: %s %s: read answer: %w", req.method, req.path, err)
	}
	index := indexOf(resp)
	if err := decodeInto(data, out); err != nil {
		return index, fmt.Errorf("client: %s %s: %w", req.method, req.path, err)
	}
	return index, nil
}

func decodeInto(data []byte, out any) error {
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = data
		return nil
	case proto.Message:
		return api.UnmarshalObject(data, o)
	}
	return json.Unmarshal(data, out)
}

func indexOf(resp *http.Response) uint64 {
	n, _ := strconv.ParseUint(resp.Header.Get(api.HeaderIndex), 10, 64)
	return n
}

// send tries the servers in turn, starting with the one that answered last,
// and returns the first 2xx answer (101 for an upgrade); the caller closes
// its body. A server that cannot be reached or answers 503 (a master
// without a leader) is skipped; any other answer is final.
func (c *Client) send(ctx context.Context, req request) (*http.Response, error) {
	rewind, err := replayable(req.body)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", req.method, req.path, err)
	}
	rel, err := url.Parse(req.path)
	if err != nil {
		return nil, fmt.Errorf("client: path %q: %w", req.path, err)
	}
	query := rel.Query()
	for k, vs := range req.query {
		query[k] = append(query[k], vs...)
	}
	hc, success := c.http, func(status int) bool { return status >= 200 && status < 300 }
	if req.upgrade != "" {
		hc, success = c.http1(), func(status int) bool { return status == http.StatusSwitchingProtocols }
	}
	n := len(c.servers)
	start := int(c.preferred.Load())
	var lastErr error
	for i := range n {
		idx := (start + i) % n
		base := c.servers[idx]
		u := *base
		u.Path = base.Path + rel.Path
		u.RawPath = ""
		if rel.RawPath != "" {
			u.RawPath = base.Path + rel.RawPath
		}
		u.RawQuery = query.Encode()
		body, length, err := rewind()
		if err != nil {
			return nil, fmt.Errorf("client: %s %s: %w", req.method, req.path, err)
		}
		hreq, err := http.NewRequestWithContext(ctx, req.method, u.String(), body)
		if err != nil {
			return nil, fmt.Errorf("client: %s %s: %w", req.method, req.path, err)
		}
		hreq.ContentLength = length
		c.setHeaders(hreq, req)
		resp, err := hc.Do(hreq)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("client: %s %s: %w", req.method, u.Redacted(), ctx.Err())
			}
			lastErr = fmt.Errorf("client: %s %s: %w", req.method, u.Redacted(), err)
			continue
		}
		if err := api.CheckHeader(resp.Header, "the master at "+u.Host); err != nil {
			resp.Body.Close()
			return nil, err
		}
		if success(resp.StatusCode) {
			c.preferred.Store(int32(idx))
			return resp, nil
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		apiErr := api.DecodeError(resp.StatusCode, data)
		if resp.StatusCode == http.StatusServiceUnavailable {
			lastErr = apiErr
			continue
		}
		c.preferred.Store(int32(idx))
		return nil, apiErr
	}
	var apiErr *api.Error
	if n == 1 || errors.As(lastErr, &apiErr) {
		return nil, lastErr
	}
	return nil, fmt.Errorf("client: none of %s answered; last: %w", c.cfgServers, lastErr)
}

// setHeaders writes the request's own headers and the client's: upgrade,
// token, user agent and protocol version (set here rather than by a
// transport, so that a caller's own HTTP client, WithHTTPClient, speaks the
// version too).
func (c *Client) setHeaders(hreq *http.Request, req request) {
	for k, vs := range req.header {
		hreq.Header[k] = vs
	}
	if req.upgrade != "" {
		hreq.Header.Set("Connection", "Upgrade")
		hreq.Header.Set("Upgrade", req.upgrade)
	}
	if c.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.token)
	}
	hreq.Header.Set("User-Agent", c.userAgent)
	hreq.Header.Set(api.HeaderProtocol, api.ProtocolVersion.String())
}

// replayable returns a function that yields the body afresh for each
// attempt, with its length (-1 when unknown), so that failover can resend
// it. A seekable body (an open file) is rewound; any other is read into
// memory once.
func replayable(body io.Reader) (func() (io.Reader, int64, error), error) {
	switch b := body.(type) {
	case nil:
		return func() (io.Reader, int64, error) { return nil, 0, nil }, nil
	case io.ReadSeeker:
		start, err := b.Seek(0, io.SeekCurrent)
		if err != nil {
			break
		}
		end, err := b.Seek(0, io.SeekEnd)
		if err != nil {
			break
		}
		return func() (io.Reader, int64, error) {
			if _, err := b.Seek(start, io.SeekStart); err != nil {
				return nil, 0, fmt.Errorf("rewind body: %w", err)
			}
			// NopCloser: the transport must not close the caller's file
			// between attempts.
			return io.NopCloser(io.LimitReader(b, end-start)), end - start, nil
		}, nil
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return func() (io.Reader, int64, error) {
		return bytes.NewReader(data), int64(len(data)), nil
	}, nil
}
