package apiserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// roleTokens takes a role's name, optionally followed by "-" and a
// suffix (admin-2), as a token of that role.
type roleTokens struct{}

func (roleTokens) Authenticate(token string) (auth.Role, error) {
	name, _, _ := strings.Cut(token, "-")
	role, err := auth.ParseRole(name)
	if err != nil {
		return "", errors.New("unknown token")
	}
	return role, nil
}

// applier applies commands to the store directly, as a one-master Raft would.
type applier struct{ st *store.Store }

func (a applier) Apply(_ context.Context, cmd *orchpb.Command) (*orchpb.CommandResult, error) {
	return a.st.Apply(a.st.Index()+1, cmd), nil
}

// newTestServer is the API over an empty store; edit tweaks its Deps.
func newTestServer(t *testing.T, edit func(*Deps)) *Server {
	t.Helper()
	st := store.New()
	deps := Deps{Store: st, Proposer: applier{st}, Auth: roleTokens{}, Logger: slog.New(slog.DiscardHandler)}
	if edit != nil {
		edit(&deps)
	}
	return New(deps)
}

// call serves one request with the token and returns the recorded answer.
func call(s *Server, method, path, token string, body io.Reader) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}
