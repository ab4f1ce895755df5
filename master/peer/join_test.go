package peer

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orch-io/orch/pki"

	"github.com/orch-io/orch/master/auth"
)

// fakeMaster serves /v1/ca and the join endpoints as a master would, with
// the credentials of ca (and claiming pinned's CA at /v1/ca when set).
func fakeMaster(t *testing.T, ca *pki.CA, served *pki.CA, token string, joins *atomic.Int32) *httptest.Server {
	t.Helper()
	cert, _ := served.IssueMaster([]string{"127.0.0.1"})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ca", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(served.CertPEM()) })
	mux.HandleFunc("GET "+PathCredentials, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(Credentials{CACertPEM: string(ca.CertPEM()), CAKeyPEM: string(ca.KeyPEM())})
	})
	mux.HandleFunc("POST "+PathMembers, func(w http.ResponseWriter, r *http.Request) {
		if joins.Add(1) == 1 {
			// The first attempt finds no leader; the joiner retries.
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("{}"))
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestJoiner(t *testing.T) {
	ca, _ := pki.NewCA()
	other, _ := pki.NewCA()
	token, _, _ := auth.NewToken(ca.Digest(), auth.RoleMaster)
	var joins atomic.Int32
	good := fakeMaster(t, ca, ca, token, &joins)
	impostor := fakeMaster(t, other, other, token, &joins)
	// A master that shows the right CA at /v1/ca but hands out another.
	swapper := fakeMaster(t, other, ca, token, &joins)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if _, err := (&Joiner{URLs: []string{impostor.URL}, Token: token}).Credentials(ctx); err == nil || !strings.Contains(err.Error(), "refusing to join") {
		t.Errorf("joined a master of another CA: %v", err)
	}
	if _, err := (&Joiner{URLs: []string{swapper.URL}, Token: token}).Credentials(ctx); err == nil {
		t.Error("accepted credentials of a CA other than the pinned one")
	}
	// The impostor is skipped; the good master answers.
	j := &Joiner{URLs: []string{impostor.URL, good.URL}, Token: token}
	creds, err := j.Credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := pki.ParseCA([]byte(creds.CACertPEM), []byte(creds.CAKeyPEM)); err != nil || got.Digest() != ca.Digest() {
		t.Fatalf("credentials: %v", err)
	}
	if _, err := (&Joiner{URLs: []string{good.URL}, Token: "ORCH-1-" + ca.Digest() + "-master-wrong"}).Credentials(ctx); err == nil {
		t.Error("credentials given for a wrong token")
	}
	joins.Store(0)
	if err := (&Joiner{URLs: []string{good.URL}, Token: token}).RequestMembership(ctx, ca.CertPEM(), Member{ID: "m2"}); err != nil {
		t.Fatal(err)
	}
	if joins.Load() != 2 {
		t.Errorf("%d membership requests, want a retry after the 503", joins.Load())
	}
}
