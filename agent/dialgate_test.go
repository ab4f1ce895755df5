package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gateFixture is a gated transport to a test server, counting the TCP
// connections the transport dials.
type gateFixture struct {
	gate  *gatedTransport
	dials atomic.Int32
}

func newGateFixture(t *testing.T, srv *httptest.Server) *gateFixture {
	t.Helper()
	f := &gateFixture{}
	base := srv.Client().Transport.(*http.Transport).Clone()
	base.ForceAttemptHTTP2 = true
	dial := (&net.Dialer{Timeout: 5 * time.Second}).DialContext
	base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		f.dials.Add(1)
		return dial(ctx, network, addr)
	}
	f.gate = newGatedTransport(base)
	t.Cleanup(f.gate.CloseIdleConnections)
	return f
}

// calls makes n calls at once to url and answers their errors.
func (f *gateFixture) calls(n int, url string) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			resp, err := f.gate.RoundTrip(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return errs
}

// slowHandshakes makes every TLS handshake of srv (not started yet) take
// a while, so that calls started together all find no connection ready.
func slowHandshakes(srv *httptest.Server) {
	srv.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		time.Sleep(100 * time.Millisecond)
		return nil, nil
	}}
}

func TestCallsShareTheConnectionTheFirstOpens(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			t.Errorf("call over %s, want HTTP/2", r.Proto)
		}
	}))
	srv.EnableHTTP2 = true
	slowHandshakes(srv)
	srv.StartTLS()
	defer srv.Close()
	f := newGateFixture(t, srv)
	for i, err := range f.calls(8, srv.URL) {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if n := f.dials.Load(); n != 1 {
		t.Errorf("8 calls at once dialed %d connections, want 1", n)
	}
	// The connection gone, the next calls open one again, once.
	f.gate.CloseIdleConnections()
	until(t, "the connection to be counted closed", func() bool { return f.gate.liveConns() == 0 })
	f.calls(4, srv.URL)
	if n := f.dials.Load(); n != 2 {
		t.Errorf("after a reconnect, %d dials in all, want 2", n)
	}
}

func TestCallsFailWithTheFirstsFailedConnect(t *testing.T) {
	// A listener that takes connections and drops them: every TLS
	// handshake fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
			conn.Close()
		}
	}()
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.StartTLS()
	defer srv.Close()
	f := newGateFixture(t, srv)
	for i, err := range f.calls(6, "https://"+ln.Addr().String()) {
		if err == nil {
			t.Errorf("call %d to a master that drops connections succeeded", i)
		}
	}
	if n := f.dials.Load(); n != 1 {
		t.Errorf("6 calls at once to a master that fails dialed %d times, want 1 (they share its failure)", n)
	}
}

func TestCallsOverHTTP1DialTheirOwn(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-release
		}
	}))
	srv.StartTLS() // HTTP/1.1 only
	defer srv.Close()
	defer close(release)
	f := newGateFixture(t, srv)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/hold", nil)
	resp, err := f.gate.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The held call keeps its connection; the others get theirs.
	for i, err := range f.calls(3, srv.URL) {
		if err != nil {
			t.Errorf("call %d beside a held HTTP/1.1 call: %v", i, err)
		}
	}
}

func TestACallCutShortLetsTheNextConnect(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.EnableHTTP2 = true
	slowHandshakes(srv)
	srv.StartTLS()
	defer srv.Close()
	f := newGateFixture(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		_, err := f.gate.RoundTrip(req)
		first <- err
	}()
	until(t, "the first call to start connecting", func() bool { return f.dials.Load() == 1 })
	second := make(chan []error, 1)
	go func() { second <- f.calls(1, srv.URL) }()
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("first call: %v, want canceled", err)
	}
	if errs := <-second; errs[0] != nil {
		t.Errorf("a call waiting behind one its caller gave up on: %v, want it to connect itself", errs[0])
	}
}

// liveConns counts the connections the gate holds open, for tests.
func (g *gatedTransport) liveConns() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.live {
		n += c
	}
	return n
}

// until polls ok for up to 10 s.
func until(t *testing.T, what string, ok func() bool) {
	t.Helper()
	waitFor(t, 10*time.Second, what, func() *bool {
		if ok() {
			return new(bool)
		}
		return nil
	})
}
