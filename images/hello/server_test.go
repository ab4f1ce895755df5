package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type testServer struct {
	*httptest.Server
	exits []int
	logs  *bytes.Buffer
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	ts := &testServer{logs: &bytes.Buffer{}}
	s := newServer(slog.New(slog.NewTextHandler(ts.logs, nil)), func(code int) {
		ts.exits = append(ts.exits, code)
	})
	ts.Server = httptest.NewServer(s.routes())
	t.Cleanup(ts.Close)
	return ts
}

func (ts *testServer) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestHealthCycle(t *testing.T) {
	ts := newTestServer(t)
	steps := []struct {
		path       string
		wantStatus int
	}{
		{"/healthz", 200},
		{"/fail-health", 200},
		{"/healthz", 500},
		{"/healthz", 500},
		{"/heal", 200},
		{"/healthz", 200},
	}
	for i, s := range steps {
		if got, body := ts.get(t, s.path); got != s.wantStatus {
			t.Fatalf("step %d: GET %s = %d %q, want %d", i, s.path, got, body, s.wantStatus)
		}
	}
}

func TestCrash(t *testing.T) {
	cases := []struct {
		query      string
		wantStatus int
		wantExit   []int
	}{
		{"", 200, []int{1}},
		{"?code=3", 200, []int{3}},
		{"?code=0", 200, []int{0}},
		{"?code=abc", 400, nil},
		{"?code=300", 400, nil},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			ts := newTestServer(t)
			status, _ := ts.get(t, "/crash"+c.query)
			if status != c.wantStatus {
				t.Fatalf("status %d, want %d", status, c.wantStatus)
			}
			if len(ts.exits) != len(c.wantExit) || (len(c.wantExit) == 1 && ts.exits[0] != c.wantExit[0]) {
				t.Fatalf("exit calls %v, want %v", ts.exits, c.wantExit)
			}
		})
	}
}

func TestResolveLocalhost(t *testing.T) {
	ts := newTestServer(t)
	status, body := ts.get(t, "/resolve?name=localhost")
	if status != 200 || !(strings.Contains(body, "127.0.0.1") || strings.Contains(body, "::1")) {
		t.Fatalf("resolve localhost = %d %q", status, body)
	}
	if status, _ := ts.get(t, "/resolve"); status != 400 {
		t.Fatalf("resolve without name = %d, want 400", status)
	}
	// .invalid never resolves (RFC 6761), so no query leaves the machine.
	if status, _ := ts.get(t, "/resolve?name=nothing.invalid"); status == 200 {
		t.Fatal("resolving nothing.invalid succeeded")
	}
}

func TestRootAndLogging(t *testing.T) {
	ts := newTestServer(t)
	t.Setenv("GREETING", "hi")
	status, body := ts.get(t, "/")
	if status != 200 || !strings.Contains(body, "hostname: ") || !strings.Contains(body, "greeting: hi") {
		t.Fatalf("GET / = %d %q", status, body)
	}
	if status, _ := ts.get(t, "/no-such-page"); status != 404 {
		t.Fatalf("GET /no-such-page = %d, want 404", status)
	}
	lines := strings.Split(strings.TrimSpace(ts.logs.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "path=/ ") || !strings.Contains(lines[1], "status=404") {
		t.Fatalf("want one log line per request, got %q", lines)
	}
}

func TestAlloc(t *testing.T) {
	ts := newTestServer(t)
	if status, body := ts.get(t, "/alloc?mb=2"); status != 200 || !strings.Contains(body, "holding 2 MiB") {
		t.Fatalf("alloc 2 = %d %q", status, body)
	}
	if status, body := ts.get(t, "/alloc?mb=1"); status != 200 || !strings.Contains(body, "holding 3 MiB") {
		t.Fatalf("alloc 1 more = %d %q", status, body)
	}
	for _, bad := range []string{"", "?mb=-1", "?mb=x"} {
		if status, _ := ts.get(t, "/alloc"+bad); status != 400 {
			t.Fatalf("alloc%s = %d, want 400", bad, status)
		}
	}
}

func TestFetch(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "short and stout")
	}))
	defer upstream.Close()
	ts := newTestServer(t)
	status, body := ts.get(t, "/fetch?url="+upstream.URL)
	if status != 200 || body != "status: 418\n\nshort and stout" {
		t.Fatalf("fetch = %d %q", status, body)
	}
	// A port nobody listens on: the fetch itself fails.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	if status, _ := ts.get(t, "/fetch?url="+deadURL); status != http.StatusBadGateway {
		t.Fatalf("fetch of a closed port = %d, want 502", status)
	}
}

func TestSubcommands(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			http.Error(w, "nope", 500)
			return
		}
		io.WriteString(w, "fine")
	}))
	defer upstream.Close()
	cases := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"version"}, 0, "hello dev\n"},
		{[]string{"get", upstream.URL + "/ok"}, 0, "fine"},
		{[]string{"get", upstream.URL + "/bad"}, 1, "nope\n"},
		{[]string{"get"}, 2, ""},
		{[]string{"--port=x"}, 2, ""},
		{[]string{"bogus"}, 2, ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(c.args, &out, &errOut); code != c.wantCode {
				t.Fatalf("exit %d, want %d (stderr %q)", code, c.wantCode, errOut.String())
			}
			if out.String() != c.wantOut {
				t.Fatalf("stdout %q, want %q", out.String(), c.wantOut)
			}
		})
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, "127.0.0.1:0", slog.New(slog.DiscardHandler)) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after cancel = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
}
