package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/orch-io/orch/pki"

	"github.com/orch-io/orch/api"
)

// LeaderFunc tells where the leader's API is: its URL (this master's own
// when it leads), or ok false while no leader (or its address) is known.
type LeaderFunc func() (apiURL string, self bool, ok bool)

// ErrNoLeader: no leader became known within the wait.
var ErrNoLeader = errors.New("peer: no leader")

// DefaultLeaderWait bounds how long a request waits for a leader to be known
// and reachable before the answer is 503: long enough to ride out an
// election on a LAN (about a second), short enough never to look hung.
const DefaultLeaderWait = 2 * time.Second

// Forwarder sends writes that reach a follower to the leader, transparently,
// and lets everything else through to the local API: reads (GET and HEAD,
// linearized by the API's read barrier or answered locally with
// ?stale=true), protocol upgrades (exec streams), writes when this master
// leads, and requests another master already forwarded.
type Forwarder struct {
	next   http.Handler
	here   func(*http.Request) bool
	leader LeaderFunc
	wait   time.Duration
	proxy  *httputil.ReverseProxy
	log    *slog.Logger
}

// ForwarderDeps are what a Forwarder needs.
type ForwarderDeps struct {
	// Local is the API itself.
	Local  http.Handler
	Leader LeaderFunc
	// CA verifies the leader's certificate.
	CA *pki.CA
	// Cert is this master's certificate, presented only with a node's
	// forwarded call, to vouch for the node its certificate named.
	Cert *pki.LiveCert
	// ServedHere, when set, names the writes a follower serves itself
	// (the agents' heartbeats, relayed in batches); its handler calls
	// Forward for those it cannot.
	ServedHere func(*http.Request) bool
	// Wait is how long to wait for a leader; 0 means DefaultLeaderWait.
	Wait   time.Duration
	Logger *slog.Logger
}

// NewForwarder wraps deps.Local.
func NewForwarder(deps ForwarderDeps) *Forwarder {
	if deps.Wait <= 0 {
		deps.Wait = DefaultLeaderWait
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	f := &Forwarder{next: deps.Local, here: deps.ServedHere, leader: deps.Leader, wait: deps.Wait, log: deps.Logger.With("component", "forwarder")}
	// No client certificate on forwarded requests: the leader must
	// authorize the caller's own token, not this master. A node's call is
	// the exception: the leader cannot see the node's certificate, so this
	// master names the node and shows its own certificate to be believed.
	tr := &leaderTransport{f: f, base: api.VersionTransport{Base: newTransport(deps.CA.MasterClientTLS(nil))},
		vouching: api.VersionTransport{Base: newTransport(deps.CA.MasterClientTLS(deps.Cert))}}
	f.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The transport picks the leader per attempt.
			pr.Out.URL.Scheme, pr.Out.URL.Host = "https", "leader.invalid"
			pr.Out.Header.Set(HeaderForwarded, "1")
			pr.Out.Header.Del(HeaderNode)
			pr.Out.Header.Del(HeaderNodeID)
			if id, ok := pki.PeerNode(pr.In.TLS); ok && deps.Cert != nil {
				pr.Out.Header.Set(HeaderNode, id.Name)
				pr.Out.Header.Set(HeaderNodeID, id.ID)
			}
		},
		Transport:     tr,
		FlushInterval: -1, // streamed answers (logs, exec) pass through as they come
		ErrorHandler:  f.proxyError,
		ErrorLog:      slog.NewLogLogger(deps.Logger.Handler(), slog.LevelDebug),
	}
	return f
}

// ServeHTTP implements http.Handler.
func (f *Forwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// An Upgrade (exec) is a stream to an agent, not a state change: any
	// master can serve it.
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions ||
		r.Header.Get(HeaderForwarded) != "" || r.Header.Get("Upgrade") != "" {
		f.next.ServeHTTP(w, r)
		return
	}
	if _, self, ok := f.leader(); (ok && self) || (f.here != nil && f.here(r)) {
		f.next.ServeHTTP(w, r)
		return
	}
	if mastersOwnCall(r) {
		// Another master calls the leader it knows (heartbeats relayed,
		// its record, a token's use) on its own authority, which a
		// forwarded request does not carry: the leader would refuse it
		// as unauthenticated, an answer the caller takes for final.
		api.WriteError(w, &api.Error{Code: api.CodeNoLeader, Status: http.StatusServiceUnavailable,
			Message: "this master does not lead: a master's own call goes to the leader, which has moved; ask again where it is now"})
		return
	}
	f.proxy.ServeHTTP(w, r)
}

// mastersOwnCall reports whether r is another master calling with its own
// certificate, for itself (not vouching for a node, not with a token).
func mastersOwnCall(r *http.Request) bool {
	return r.Header.Get("Authorization") == "" && r.Header.Get(HeaderNode) == "" && pki.PeerIsMaster(r.TLS)
}

// Forward sends r to the leader, whatever it is: for a handler that serves
// a request itself only in part.
func (f *Forwarder) Forward(w http.ResponseWriter, r *http.Request) {
	f.proxy.ServeHTTP(w, r)
}

// WaitLeader returns the leader's API URL, waiting up to wait (the
// forwarder's) for one to be known.
func (f *Forwarder) WaitLeader(ctx context.Context) (apiURL string, self bool, err error) {
	return waitLeader(ctx, f.leader, time.Now().Add(f.wait))
}

// waitLeader polls leader until it knows one or deadline passes. The polls
// back off from 10 ms to 160 ms: during an election thousands of requests
// (every agent's heartbeat) wait here at once, and polling them all every
// few milliseconds would take the CPU the election itself needs.
func waitLeader(ctx context.Context, leader LeaderFunc, deadline time.Time) (string, bool, error) {
	pause := 10 * time.Millisecond
	for {
		if u, self, ok := leader(); ok {
			return u, self, nil
		}
		now := time.Now()
		if !now.Before(deadline) {
			return "", false, ErrNoLeader
		}
		timer := time.NewTimer(min(pause, deadline.Sub(now)))
		select {
		case <-ctx.Done():
			timer.Stop()
			return "", false, ctx.Err()
		case <-timer.C:
		}
		pause = min(2*pause, 160*time.Millisecond)
	}
}

func (f *Forwarder) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNoLeader):
		msg := fmt.Sprintf("no leader: the cluster cannot accept writes right now (waited %s for one to be elected; is a majority of the masters up?)", f.wait)
		if err != ErrNoLeader { //nolint:errorlint // only a bare sentinel says nothing more
			msg += ": " + err.Error()
		}
		api.WriteError(w, &api.Error{Code: api.CodeNoLeader, Status: http.StatusServiceUnavailable, Message: msg})
	case r.Context().Err() != nil:
		// The caller left; nobody reads this answer.
		w.WriteHeader(499)
	default:
		f.log.Warn("forwarding to the leader failed", "method", r.Method, "path", r.URL.Path, "err", err)
		api.WriteError(w, &api.Error{Code: api.CodeOutcomeUnknown, Status: http.StatusServiceUnavailable,
			Message: "the leader failed while handling the request, which may or may not have been applied: " + err.Error()})
	}
}

// leaderTransport sends each forwarded request to the current leader. While
// no leader is known, or the one known refuses connections (it died and
// the others have not noticed yet), it waits and tries again, within the
// forwarder's wait. Once any byte of the body has been sent it never
// retries: the leader may have applied it.
type leaderTransport struct {
	f    *Forwarder
	base http.RoundTripper
	// vouching presents this master's certificate: only for a request
	// that names the node it forwards for.
	vouching http.RoundTripper
}

func (t *leaderTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	deadline := time.Now().Add(t.f.wait)
	var body *onceBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &onceBody{r: req.Body}
		defer req.Body.Close()
	}
	for {
		base, _, err := waitLeader(req.Context(), t.f.leader, deadline)
		if err != nil {
			return nil, err
		}
		u, err := url.Parse(base)
		if err != nil {
			return nil, fmt.Errorf("peer: leader URL %q: %w", base, err)
		}
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host, out.Host = u.Scheme, u.Host, u.Host
		if body != nil {
			out.Body = body
		}
		rt := t.base
		if out.Header.Get(HeaderNode) != "" {
			rt = t.vouching
		}
		resp, err := rt.RoundTrip(out)
		if err == nil {
			return resp, nil
		}
		if (body != nil && body.started.Load()) || !isDialError(err) || req.Context().Err() != nil {
			return nil, err
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%w: the leader at %s is unreachable: %w", ErrNoLeader, base, err)
		}
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// isDialError: the connection was never made, so nothing was sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// onceBody lets one request body be offered to several attempts, and tells
// whether any attempt began reading it. Closing is left to the server.
type onceBody struct {
	r       io.Reader
	started atomic.Bool
}

func (b *onceBody) Read(p []byte) (int, error) {
	b.started.Store(true)
	return b.r.Read(p)
}

func (b *onceBody) Close() error { return nil }
