package agent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orch-io/orch/pki"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// masterConn is the agent's side of the agent channel. It talks to one
// master at a time and moves to the next on failure. Until the node is
// registered it holds only the join token; from then on it presents the
// node's client certificate and never sends the token again, except to
// register anew a node the masters no longer know.
type masterConn struct {
	urls  []string
	token string
	cert  atomic.Pointer[tls.Certificate]
	trust *caTrust

	mu      sync.Mutex
	current int
	http    *http.Client
	stream  *http.Client
	// transport carries every call, multiplexed over one HTTP/2
	// connection per master; a new certificate gets a new one.
	tlsConf   *tls.Config
	transport atomic.Pointer[gatedTransport]

	// sets rebuilds the node's set from the delta stream, across streams.
	sets setAssembler
	// setIndex is the Raft index of the newest set the stream brought,
	// sent with each report with news (StatusReport.assignments_index).
	setIndex atomic.Uint64
	// reports trims status reports to what changed.
	reports statusDelta
	// heard is when the current master last answered (unix ns; 0: not
	// since the agent moved to it).
	heard atomic.Int64
	// beats, when set, is the open assignment stream's heartbeat body,
	// which beats every beatEvery.
	beats     atomic.Pointer[streamBeats]
	beatEvery time.Duration
}

func newMasterConn(urls []string, token string, trust *caTrust) *masterConn {
	// Each agent starts at a master of its own: a fleet told the same
	// list would otherwise pile every stream and heartbeat onto the first
	// master, whose Raft then misses its heartbeats.
	c := &masterConn{urls: urls, token: token, trust: trust, current: rand.IntN(max(len(urls), 1)), beatEvery: time.Second}
	tlsConf := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain is checked in VerifyConnection against the CAs
		// trusted at that moment (two during a CA replacement). A
		// certificate the CA signed is not enough: every node holds one.
		// Only a master's may receive the token and the reports.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection:   trust.verifyMaster,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if cert := c.cert.Load(); cert != nil {
				return cert, nil
			}
			return &tls.Certificate{}, nil
		},
	}
	c.tlsConf = tlsConf
	c.transport.Store(c.newTransport())
	current := currentTransport{c}
	c.http = &http.Client{Timeout: 10 * time.Second, Transport: api.VersionTransport{Base: current}}
	c.stream = &http.Client{Transport: api.VersionTransport{Base: current}}
	return c
}

// newTransport makes the connections of a node's calls: HTTP/2, so that
// the streams, the heartbeats and the reports share one connection (a
// master serving 5,000 nodes holds 5,000 connections, not four times as
// many, and a node joins with one handshake per master); pinged when
// silent, so that a connection to a master that vanished is dropped
// within seconds and the next call dials again.
func (c *masterConn) newTransport() *gatedTransport {
	return newGatedTransport(&http.Transport{
		TLSClientConfig:       c.tlsConf,
		ForceAttemptHTTP2:     true,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 15 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		HTTP2:                 &http.HTTP2Config{SendPingTimeout: 10 * time.Second, PingTimeout: 5 * time.Second},
	})
}

// currentTransport sends each call through the masterConn's transport of
// the moment.
type currentTransport struct{ c *masterConn }

func (t currentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.c.transport.Load().RoundTrip(req)
}

// setCertificate makes the node's client certificate the credential of
// every later call: they go through a new transport, whose connections
// present it. Streams open on the old one run on until they end; its
// idle connections are closed, and the rest when they fall idle.
func (c *masterConn) setCertificate(cert *tls.Certificate) {
	c.cert.Store(cert)
	old := c.transport.Swap(c.newTransport())
	old.CloseIdleConnections()
}

func (c *masterConn) base() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.TrimRight(c.urls[c.current%len(c.urls)], "/")
}

// next moves to the next master after a failure.
func (c *masterConn) next() {
	c.mu.Lock()
	c.current = (c.current + 1) % len(c.urls)
	c.mu.Unlock()
	c.heard.Store(0)
}

// heardRecently is how long an answer of the current master vouches for
// it: past it, a call that times out moves the agent on.
const heardRecently = streamIdle

// heardFrom records an answer (any status) of master, when it is still
// the current one.
func (c *masterConn) heardFrom(master string) {
	if master == c.base() {
		c.heard.Store(time.Now().UnixNano())
	}
}

// slowNotGone reports whether a failed call is one to stay for: it timed
// out (ctx, or the client's deadline) at a master heard from lately. That
// says the cluster is slow, not that the master is gone (every master
// forwards writes to the one leader, so another is no faster); a fleet
// that moved on every timeout would redial in thousands at once, and at
// 5,000 nodes the masters' accept queues overflowed. A refused or broken
// connection, or a master silent for heardRecently, still moves the agent.
func (c *masterConn) slowNotGone(ctx context.Context, err error) bool {
	var ne net.Error
	var op *net.OpError
	timedOut := ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout())
	dial := errors.As(err, &op) && op.Op == "dial"
	heard := c.heard.Load()
	return timedOut && !dial && heard != 0 && time.Since(time.Unix(0, heard)) < heardRecently
}

func (c *masterConn) do(ctx context.Context, client *http.Client, method, path, contentType string, body []byte) (*http.Response, error) {
	return c.send(ctx, client, method, path, contentType, bytes.NewReader(body), c.cert.Load() == nil)
}

// send is do with the join token sent or not, and any body: a stream's
// runs as long as the call.
func (c *masterConn) send(ctx context.Context, client *http.Client, method, path, contentType string, body io.Reader, withToken bool) (*http.Response, error) {
	master := c.base()
	req, err := http.NewRequestWithContext(ctx, method, master+path, body)
	if err != nil {
		return nil, err
	}
	if withToken {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		if !c.slowNotGone(ctx, err) {
			c.next()
		}
		return nil, err
	}
	c.heardFrom(master)
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode == http.StatusServiceUnavailable {
			c.next()
		}
		if e := api.DecodeError(resp.StatusCode, data); e != nil {
			return nil, e
		}
		return nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return resp, nil
}

func (c *masterConn) register(ctx context.Context, reg *orchpb.NodeRegistration) (*orchpb.NodeRegistrationResponse, error) {
	body, err := protojson.Marshal(reg)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, c.http, http.MethodPost, "/v1/agent/register", "application/json", body)
	var refused *api.Error
	if errors.As(err, &refused) && refused.HTTPStatus() == http.StatusForbidden && c.cert.Load() != nil && c.token != "" {
		// The masters no longer know this node (it was removed): only
		// the join token admits it again, as a new node.
		resp, err = c.send(ctx, c.http, http.MethodPost, "/v1/agent/register", "application/json", bytes.NewReader(body), true)
	}
	if err != nil {
		return nil, fmt.Errorf("agent: register %s: %w", reg.GetName(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("agent: register %s: %w", reg.GetName(), err)
	}
	var out orchpb.NodeRegistrationResponse
	if err := protojson.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("agent: register %s: decode answer: %w", reg.GetName(), err)
	}
	return &out, nil
}

// reportStatus sends the node's heartbeat with the statuses in report the
// masters have not taken yet (report lists them all).
func (c *masterConn) reportStatus(ctx context.Context, report *orchpb.StatusReport) error {
	master, now := c.base(), time.Now()
	report.CaDigest, report.CertIssuer = c.trust.Digest(), issuerOf(c.cert.Load())
	sent, full := c.reports.trim(report, master, now)
	if !full && sent.Bare() && c.streamBeats() {
		// The stream beats on its own clock: nothing to send.
		c.reports.acknowledge(report, sent, full, master, now)
		return nil
	}
	if !sent.Bare() {
		// The master taking the report may be behind the one that
		// streamed the set: it catches up first.
		sent.AssignmentsIndex = c.setIndex.Load()
	}
	body, err := proto.Marshal(sent)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, c.http, http.MethodPost, "/v1/agent/nodes/"+url.PathEscape(report.GetNodeId())+"/status", "application/x-protobuf", body)
	if err != nil {
		return fmt.Errorf("agent: report status: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if err := resp.Body.Close(); err != nil {
		return fmt.Errorf("agent: report status: %w", err)
	}
	c.reports.acknowledge(report, sent, full, master, now)
	return nil
}

// streamIdle is how long a silent assignment stream is trusted; the master
// resends the set every few seconds, so silence past this means it is gone.
const streamIdle = 15 * time.Second

// watchAssignments calls handle with the whole assignment set at the start
// of the stream and after every change the master pushes, and again at each
// keepalive (the agent matches its workers to every set), until the stream
// breaks or ctx ends. It asks for the delta form and for the set it already
// holds, so that a reconnect when nothing changed costs a few bytes; a
// master of v0.1.0 answers whole sets. Without peers the master leaves out
// the peer list (for callers with no overlay to program).
func (c *masterConn) watchAssignments(ctx context.Context, nodeID string, peers bool, handle func(*orchpb.AssignmentSet)) error {
	q := url.Values{"delta": {"true"}}
	if !peers {
		q.Set("peers", "false")
	}
	if since := c.sets.begin(); since != 0 {
		q.Set("since", fmt.Sprintf("%016x", since))
	}
	q.Set("beats", "true")
	beats := newStreamBeats()
	defer c.dropStreamBeats(beats)
	call := streamCall{path: "/v1/agent/nodes/" + url.PathEscape(nodeID) + "/assignments?" + q.Encode(),
		what: "assignment", nextOnFailure: true, body: beats}
	delta := false
	call.opened = func(h http.Header) {
		if delta = h.Get("X-Orch-Assignments") == "delta"; !delta {
			c.sets.forget()
		}
		c.takeStreamBeats(beats, h)
		c.reports.resync()
	}
	return readStream(beats.onlyOverHTTP2(ctx), c, call, func() *orchpb.AssignmentSet { return &orchpb.AssignmentSet{} }, func(msg *orchpb.AssignmentSet) error {
		set := msg
		if delta {
			var err error
			if set, err = c.sets.apply(msg); err != nil {
				return err
			}
		}
		if err := c.trust.follow(set, c.cert.Load()); err != nil {
			return err
		}
		if i := set.GetIndex(); i != 0 {
			c.setIndex.Store(i)
		}
		handle(set)
		return nil
	})
}

// streamCall is what readStream opens.
type streamCall struct {
	path, what string
	// nextOnFailure moves the connection to the next master when the
	// stream breaks.
	nextOnFailure bool
	// body, when set, is sent up the stream for as long as it lasts.
	body io.Reader
	// opened, when set, sees the answer's header first.
	opened func(http.Header)
}

// readStream opens a streamed GET and calls handle with each length-delimited
// message until the stream breaks, falls silent past streamIdle (the masters
// send keepalives), handle fails, or ctx ends.
func readStream[M proto.Message](ctx context.Context, c *masterConn, call streamCall, newMsg func() M, handle func(M) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	what, nextOnFailure := call.what, call.nextOnFailure
	body := call.body
	if body == nil {
		body = http.NoBody
	}
	if closer, ok := body.(io.Closer); ok {
		// HTTP/2 watches ctx only once the body is sent: a body sent for
		// as long as the stream lasts must end with ctx (or the idle
		// timer) itself.
		defer context.AfterFunc(ctx, func() { _ = closer.Close() })()
	}
	master := c.base()
	resp, err := c.send(ctx, c.stream, http.MethodGet, call.path, "", body, c.cert.Load() == nil)
	if err != nil {
		return fmt.Errorf("agent: open %s stream: %w", what, err)
	}
	defer resp.Body.Close()
	if call.opened != nil {
		call.opened(resp.Header)
	}
	idle := time.AfterFunc(streamIdle, cancel)
	defer idle.Stop()
	r := bufio.NewReader(resp.Body)
	for {
		msg := newMsg()
		if err := (protodelim.UnmarshalOptions{MaxSize: 64 << 20}).UnmarshalFrom(r, msg); err != nil {
			if ctx.Err() != nil && !errors.Is(ctx.Err(), context.Canceled) {
				return ctx.Err()
			}
			if nextOnFailure {
				c.next()
			}
			return fmt.Errorf("agent: %s stream: %w", what, err)
		}
		idle.Reset(streamIdle)
		c.heardFrom(master)
		if err := handle(msg); err != nil {
			return fmt.Errorf("agent: %w", err)
		}
	}
}

// fetchCA downloads the master's CA and checks it against the digest the
// join token carries, before the token is ever sent.
func fetchCA(ctx context.Context, masterURL, token string) ([]byte, error) {
	want, err := pki.TokenCADigest(token)
	if err != nil {
		return nil, err
	}
	// The CA is not trusted yet: it is verified by its digest below.
	insecure := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(masterURL, "/")+"/v1/ca", nil)
	if err != nil {
		return nil, err
	}
	resp, err := insecure.Do(req)
	if err != nil {
		return nil, fmt.Errorf("agent: fetch CA from %s: %w", masterURL, err)
	}
	defer resp.Body.Close()
	pemBytes, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("agent: fetch CA from %s: %w", masterURL, err)
	}
	caPEM, err := pki.AcceptServedCA(pemBytes, want)
	if err != nil {
		return nil, fmt.Errorf("agent: CA from %s: %w", masterURL, err)
	}
	return caPEM, nil
}

// fetchImage downloads an image tarball loaded into the cluster.
func (c *masterConn) fetchImage(ctx context.Context, ref string) (io.ReadCloser, error) {
	resp, err := c.do(ctx, c.stream, http.MethodGet, "/v1/images/tarball?name="+url.QueryEscape(ref), "", nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
