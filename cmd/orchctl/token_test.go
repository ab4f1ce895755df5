package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
)

// fakeTokenSecret is the one secret the fake API knows; no list may show it.
const fakeTokenSecret = "ORCH-1-abc-reader-0123456789abcdef"

// tokenRoutes are the fake API's token endpoints.
func tokenRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/tokens", func(w http.ResponseWriter, r *http.Request) {
		var req api.TokenRequest
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &req)
		tok := api.Token{Token: fakeTokenSecret, Role: req.Role, ID: "0a1b2c3d4e5f"}
		if req.TTL != "" {
			d, _ := time.ParseDuration(req.TTL)
			tok.Expires = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(d)
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(tok)
	})
	mux.HandleFunc("GET /v1/tokens", func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UTC()
		_ = json.NewEncoder(w).Encode([]api.TokenInfo{
			{ID: "0a1b2c3d4e5f", Role: "reader", Created: now.Add(-2 * time.Hour), Expires: now.Add(22*time.Hour + 30*time.Second), LastUsed: now.Add(-5 * time.Minute)},
			{ID: "ffeeddccbbaa", Role: "admin"},
		})
	})
	mux.HandleFunc("DELETE /v1/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "0a1b2c3d4e5f" {
			api.WriteError(w, &api.Error{Code: api.CodeNotFound, Message: `revoke token: no token "` + r.PathValue("id") + `"`})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"revoked": r.PathValue("id")})
	})
}

func TestTokenCommands(t *testing.T) {
	h := newHarness(t)
	code, out, errOut := h.run("", "token", "create", "--role", "reader", "--ttl", "24h", "-o", "json")
	if code != 0 || !strings.Contains(out, `"expires": "2030-01-02T00:00:00Z"`) || !strings.Contains(out, `"id": "0a1b2c3d4e5f"`) {
		t.Errorf("token create --ttl: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = h.run("", "token", "list")
	want := "ID             ROLE     CREATED   EXPIRES   LAST USED\n" +
		"0a1b2c3d4e5f   reader   2h ago    in 22h    5m ago\n" +
		"ffeeddccbbaa   admin    -         never     never\n"
	if code != 0 || out != want {
		t.Errorf("token list: %d\n%s%s\nwant\n%s", code, out, errOut, want)
	}
	if strings.Contains(out, fakeTokenSecret) {
		t.Error("token list shows a secret")
	}
	if code, out, _ = h.run("", "token", "revoke", "0a1b2c3d4e5f"); code != 0 || out != "token/0a1b2c3d4e5f revoked\n" {
		t.Errorf("token revoke: %d %q", code, out)
	}
	if code, _, errOut = h.run("", "token", "revoke", "nope"); code == 0 || !strings.Contains(errOut, `no token "nope"`) {
		t.Errorf("token revoke of an unknown id: %d %q", code, errOut)
	}
	if code, _, errOut = h.run("", "token", "create", "--role", "reader", "--ttl", "-1h"); code == 0 || !strings.Contains(errOut, "--ttl") {
		t.Errorf("negative --ttl: %d %q", code, errOut)
	}
}
