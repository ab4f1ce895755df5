package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/pki"
)

// TestFetchImageMovesOnFromAMasterWithoutTheTarball: 503 (this master has
// not copied the tarball yet) sends the agent to the next master; 404 (not
// loaded in the cluster) is final and lets the runtime try a registry.
func TestFetchImageMovesOnFromAMasterWithoutTheTarball(t *testing.T) {
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	lacking := masterServer(t, ca, func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, &api.Error{Code: "unavailable", Message: "not copied yet", Status: http.StatusServiceUnavailable})
	})
	holding := masterServer(t, ca, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("name") != "orch.local/hello:1" {
			api.WriteError(w, &api.Error{Code: api.CodeNotFound, Message: "not loaded", Status: http.StatusNotFound})
			return
		}
		_, _ = io.WriteString(w, "tarball")
	})
	masters := []string{lacking.URL, holding.URL}
	a := &Agent{cfg: Config{Masters: masters}, conn: newMasterConn(masters, "t", ca.Pool())}

	rc, err := a.FetchImage(context.Background(), "orch.local/hello:1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "tarball" {
		t.Errorf("got %q", b)
	}
	if _, err := a.FetchImage(context.Background(), "docker.io/library/nginx:1"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("image not loaded in the cluster: %v, want ErrNotFound", err)
	}
}

// masterServer is a test server with a master's certificate of ca: the
// agent accepts no other.
func masterServer(t *testing.T, ca *pki.CA, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	cert, err := ca.IssueMaster([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}
