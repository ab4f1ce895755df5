package health

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestHTTPProbe(t *testing.T) {
	status := atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		switch code := int(status.Load()); code {
		case 302:
			http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", code)
		case 0:
			<-r.Context().Done() // never answers: the probe times out
		default:
			w.WriteHeader(code)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	cases := []struct {
		status int32
		path   string
		want   string // "" is healthy
	}{
		{200, "/healthz", ""},
		{204, "/healthz", ""},
		{302, "/healthz", ""}, // 3xx is healthy, and not followed
		{500, "/healthz", "GET /healthz: 500"},
		{200, "/other", "GET /other: 404"},
		{0, "/healthz", "GET /healthz: timed out"},
	}
	for _, c := range cases {
		status.Store(c.status)
		// Only the probe meant to time out gets a short deadline: the
		// others must not, however loaded the machine.
		timeout := 10 * time.Second
		if c.status == 0 {
			timeout = 300 * time.Millisecond
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := HTTP{Addr: addr, Path: c.path}.Probe(ctx)
		cancel()
		if got := errText(err); got != c.want {
			t.Errorf("status %d path %s: %q, want %q", c.status, c.path, got, c.want)
		}
	}
	closed := closedAddr(t)
	if got := errText(HTTP{Addr: closed, Path: "/healthz"}.Probe(context.Background())); got != "GET /healthz: connection refused" {
		t.Errorf("closed port: %q", got)
	}
}

func TestTCPProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := (TCP{Addr: ln.Addr().String()}).Probe(context.Background()); err != nil {
		t.Errorf("open port: %v", err)
	}
	closed := closedAddr(t)
	_, port, _ := net.SplitHostPort(closed)
	if got := errText(TCP{Addr: closed}.Probe(context.Background())); got != "tcp connect to port "+port+": connection refused" {
		t.Errorf("closed port: %q", got)
	}
}

func TestExecProbe(t *testing.T) {
	run := func(code int, out string, err error) ExecFunc {
		return func(ctx context.Context, args []string, w io.Writer) (int, error) {
			_, _ = io.WriteString(w, out)
			return code, err
		}
	}
	cases := []struct {
		fn   ExecFunc
		want string
	}{
		{run(0, "ok\n", nil), ""},
		{run(1, "\n  status 503  \nmore\n", nil), "exec /hello: exited 1: status 503"},
		{run(2, "", nil), "exec /hello: exited 2"},
		{run(-1, "", errors.New("container gone")), "exec /hello: container gone"},
	}
	for _, c := range cases {
		if got := errText(Exec{Command: []string{"/hello", "get", "x"}, Run: c.fn}.Probe(context.Background())); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}

func TestFromProto(t *testing.T) {
	exec := func(context.Context, []string, io.Writer) (int, error) { return 0, nil }
	s, ok, err := FromProto(&orchpb.HealthCheck{Http: &orchpb.HTTPCheck{Path: "/h", Port: 8080}, Interval: durationpb.New(2 * time.Second), Timeout: durationpb.New(5 * time.Second), Retries: 4, StartPeriod: durationpb.New(3 * time.Second)}, "10.0.0.5", exec)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if s.Probe != (HTTP{Addr: "10.0.0.5:8080", Path: "/h"}) || s.Interval != 2*time.Second || s.Timeout != 2*time.Second || s.Retries != 4 || s.StartPeriod != 3*time.Second {
		t.Errorf("spec = %+v (timeout is capped at the interval)", s)
	}
	if s, _, _ := FromProto(&orchpb.HealthCheck{Tcp: &orchpb.TCPCheck{Port: 9}}, "10.0.0.5", nil); s.Probe != (TCP{Addr: "10.0.0.5:9"}) || s.Retries != 3 {
		t.Errorf("tcp spec = %+v", s)
	}
	if _, _, err := FromProto(&orchpb.HealthCheck{Exec: &orchpb.ExecCheck{Command: []string{"x"}}}, "", nil); err == nil {
		t.Error("exec check without an exec function: no error")
	}
	if _, ok, _ := FromProto(nil, "10.0.0.5", nil); ok {
		t.Error("no check: ok")
	}
}

// TestRunReportsTransitions drives the loop against a probe whose answer
// the test flips, with short intervals; timing is only bounded below.
func TestRunReportsTransitions(t *testing.T) {
	var failing atomic.Bool
	probe := proberFunc(func(ctx context.Context) error {
		if failing.Load() {
			return errors.New("GET /healthz: 500")
		}
		return nil
	})
	results := make(chan Result, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, Spec{Probe: probe, Interval: 20 * time.Millisecond, Timeout: 20 * time.Millisecond, Retries: 3}, time.Now(), Starting, func(r Result) { results <- r })
	}()
	next := func() Result {
		select {
		case r := <-results:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no health transition within 10s")
			return Result{}
		}
	}
	if r := next(); r.State != Healthy {
		t.Fatalf("first transition %+v, want healthy", r)
	}
	failedAt := time.Now()
	failing.Store(true)
	r := next()
	if r.State != Unhealthy || r.Message != "GET /healthz: 500" || r.Failures != 3 {
		t.Fatalf("second transition %+v", r)
	}
	if took := time.Since(failedAt); took < 40*time.Millisecond {
		t.Errorf("unhealthy after %v, want at least 2 intervals", took)
	}
	failing.Store(false)
	if r := next(); r.State != Healthy {
		t.Fatalf("third transition %+v, want healthy again", r)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

type proberFunc func(ctx context.Context) error

func (f proberFunc) Probe(ctx context.Context) error { return f(ctx) }

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
