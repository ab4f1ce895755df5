package agent

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/api"
)

// TestFetchImageMovesOnFromAMasterWithoutTheTarball: 503 (this master has
// not copied the tarball yet) sends the agent to the next master; 404 (not
// loaded in the cluster) is final and lets the runtime try a registry.
func TestFetchImageMovesOnFromAMasterWithoutTheTarball(t *testing.T) {
	lacking := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, &api.Error{Code: "unavailable", Message: "not copied yet", Status: http.StatusServiceUnavailable})
	}))
	defer lacking.Close()
	holding := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("name") != "orch.local/hello:1" {
			api.WriteError(w, &api.Error{Code: api.CodeNotFound, Message: "not loaded", Status: http.StatusNotFound})
			return
		}
		_, _ = io.WriteString(w, "tarball")
	}))
	defer holding.Close()
	pool := x509.NewCertPool()
	pool.AddCert(lacking.Certificate())
	pool.AddCert(holding.Certificate())
	masters := []string{lacking.URL, holding.URL}
	a := &Agent{cfg: Config{Masters: masters}, conn: newMasterConn(masters, "t", pool)}

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
