package agent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
)

// gatedTransport lets one call at a time open a connection to a master that
// the node has none to. net/http dials for every call that finds no
// connection ready, even when the first dial will bring an HTTP/2
// connection they could all share: a node whose connection broke opened
// one per call in flight (its stream, its report, its beats), each with a
// full TLS handshake, and a fleet reconnecting after a master's trouble
// tripled the handshakes that made the trouble. Behind the gate the other
// calls wait until the first has its connection, then share it (HTTP/2) or
// dial their own (HTTP/1.1); if the first failed to connect, they fail
// with its error instead of each trying again.
type gatedTransport struct {
	base *http.Transport

	mu      sync.Mutex
	live    map[string]int             // connections dialed and not closed, by address
	opening map[string]*connectAttempt // the call connecting to an address, if any
}

// connectAttempt is one call's connecting to an address; done is closed
// when it has a connection or gave up, err then says which (nil: it has
// one, or it was cut short by its own caller and another call tries).
type connectAttempt struct {
	done chan struct{}
	err  error
}

// newGatedTransport wraps base, whose DialContext it counts connections
// through (base.DialContext must be set).
func newGatedTransport(base *http.Transport) *gatedTransport {
	g := &gatedTransport{base: base, live: map[string]int{}, opening: map[string]*connectAttempt{}}
	dial := base.DialContext
	base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		g.mu.Lock()
		g.live[addr]++
		g.mu.Unlock()
		return &countedConn{Conn: conn, closed: func() { g.closed(addr) }}, nil
	}
	return g
}

func (g *gatedTransport) closed(addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.live[addr]--; g.live[addr] <= 0 {
		delete(g.live, addr)
	}
}

func (g *gatedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	addr := dialAddr(req.URL)
	attempt, err := g.enter(req.Context(), addr)
	if err != nil {
		return nil, err
	}
	if attempt == nil {
		return g.base.RoundTrip(req)
	}
	var once sync.Once
	connected := func(err error) { once.Do(func() { g.leave(addr, attempt, err) }) }
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { connected(nil) }}
	resp, err := g.base.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	switch {
	case err == nil, req.Context().Err() != nil:
		// Connected, or this call's own end: the next one tries.
		connected(nil)
	default:
		connected(fmt.Errorf("agent: connect to %s: %w", addr, err))
	}
	return resp, err
}

// enter waits while another call connects to addr. It answers the attempt
// this call is to make (nil: a connection is there, go ahead), or the
// error of the attempt it waited for, or ctx's.
func (g *gatedTransport) enter(ctx context.Context, addr string) (*connectAttempt, error) {
	for {
		a, mine := g.attempt(addr)
		if a == nil || mine {
			return a, nil
		}
		select {
		case <-a.done:
			if a.err != nil {
				return nil, a.err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// attempt answers the attempt under way to addr (mine false), or a new one
// for the caller to make when addr has no connection (mine true), or nil
// when it has one.
func (g *gatedTransport) attempt(addr string) (a *connectAttempt, mine bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if a := g.opening[addr]; a != nil {
		return a, false
	}
	if g.live[addr] > 0 {
		return nil, false
	}
	a = &connectAttempt{done: make(chan struct{})}
	g.opening[addr] = a
	return a, true
}

func (g *gatedTransport) leave(addr string, a *connectAttempt, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	a.err = err
	close(a.done)
	if g.opening[addr] == a {
		delete(g.opening, addr)
	}
}

// CloseIdleConnections closes the base transport's idle connections.
func (g *gatedTransport) CloseIdleConnections() { g.base.CloseIdleConnections() }

// dialAddr is the address net/http dials for u: host:port, the port
// defaulting to the scheme's.
func dialAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// countedConn calls closed once, when it is first closed.
type countedConn struct {
	net.Conn
	once   sync.Once
	closed func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.closed)
	return err
}
