package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, srv *httptest.Server, path string) (*http.Response, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", path, err)
	}
	return resp, string(body)
}

func newServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("GET "+Prefix, Handler())
	mux.HandleFunc("GET /ui", Redirect)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestPage(t *testing.T) {
	srv := newServer(t)
	resp, body := get(t, srv, "/ui/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ui/: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET /ui/: Content-Type %q, want text/html", ct)
	}
	for _, want := range []string{"<title>orch cluster</title>", `<script src="app.js"></script>`, `href="style.css"`} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /ui/: page lacks %q", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("GET /ui/: Content-Security-Policy %q", csp)
	}
}

func TestAssets(t *testing.T) {
	srv := newServer(t)
	for path, want := range map[string]string{
		"/ui/api.js":     "text/javascript",
		"/ui/app.js":     "text/javascript",
		"/ui/actions.js": "text/javascript",
		"/ui/style.css":  "text/css",
	} {
		resp, body := get(t, srv, path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", path, resp.StatusCode)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, want) {
			t.Errorf("GET %s: Content-Type %q, want %s", path, ct, want)
		}
		if len(body) == 0 {
			t.Errorf("GET %s: empty body", path)
		}
	}
}

// TestEveryFileServed catches a file added to static/ without a content type,
// which the page would then fail to load.
func TestEveryFileServed(t *testing.T) {
	entries, err := static.ReadDir("static")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := contentTypes[e.Name()]; !ok {
			t.Errorf("static/%s has no content type in contentTypes: it would answer 404", e.Name())
		}
	}
}

func TestNoExternalResources(t *testing.T) {
	for name := range contentTypes {
		data, err := static.ReadFile("static/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if s := string(data); strings.Contains(s, "http://") || strings.Contains(s, "https://") || strings.Contains(s, "innerHTML") {
			t.Errorf("%s refers to an outside resource or uses innerHTML", name)
		}
	}
}

func TestNotFound(t *testing.T) {
	srv := newServer(t)
	for _, path := range []string{"/ui/nope.js", "/ui/static/app.js", "/ui/../go.mod", "/ui/app.js/"} {
		resp, _ := get(t, srv, path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestRedirect(t *testing.T) {
	srv := newServer(t)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(srv.URL + "/ui")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET /ui: status %d Location %q, want 301 to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
}
