package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
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
	a := &Agent{cfg: Config{Masters: masters}, conn: newMasterConn(masters, "t", mustTrust(t, ca.CertPEM()))}

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

// TestAgentRefusesANodeAsMaster: a server with a certificate of the
// cluster CA that is not a master's (a node's) gets neither the join token
// nor the node's calls.
func TestAgentRefusesANodeAsMaster(t *testing.T) {
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer(pki.NodePrefix+"evil", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	var sawToken atomic.Bool
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawToken.Store(r.Header.Get("Authorization") != "")
		_, _ = io.WriteString(w, "tarball")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	conn := newMasterConn([]string{srv.URL}, "t", mustTrust(t, ca.CertPEM()))
	if rc, err := conn.fetchImage(context.Background(), "orch.local/hello:1"); err == nil {
		rc.Close()
		t.Error("the agent took a node's certificate for a master's")
	}
	if sawToken.Load() {
		t.Error("the join token reached a server that is not a master")
	}
}

func mustTrust(t *testing.T, caPEM []byte) *caTrust {
	t.Helper()
	trust, err := newCATrust(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	return trust
}
