package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/orch-io/orch/api"
)

// TestProtocolVersion: the client sends its protocol on every request,
// takes a master without one (v0.1.0) as 0.1, and refuses a master more
// than one minor version away with a sentence.
func TestProtocolVersion(t *testing.T) {
	answer := ""
	var got string
	_, cfg := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get(api.HeaderProtocol)
		if answer != "" {
			w.Header().Set(api.HeaderProtocol, answer)
		}
	})
	c := mustNew(t, cfg)
	ctx := context.Background()
	if err := c.Healthz(ctx); err != nil {
		t.Fatalf("a master of v0.1.0 (no version): %v", err)
	}
	if got != api.ProtocolVersion.String() {
		t.Fatalf("sent protocol %q", got)
	}
	if p, err := c.ServerProtocol(ctx); err != nil || p != api.ProtocolUnversioned {
		t.Fatalf("ServerProtocol of a v0.1.0 master = %v, %v", p, err)
	}
	answer = "0.9"
	err := c.Healthz(ctx)
	if !errors.Is(err, api.ErrVersionSkew) || !strings.Contains(err.Error(), "speaks protocol 0.9") || !strings.Contains(err.Error(), "upgrade this end first") {
		t.Fatalf("a master of protocol 0.9: %v", err)
	}
}
