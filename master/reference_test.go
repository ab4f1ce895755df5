package master

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/orch-io/orch/internal/golden"
	"github.com/orch-io/orch/master/apiserver"
	"github.com/orch-io/orch/master/apiserver/openapi"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/controlplane"
	"github.com/orch-io/orch/master/dispatcher"
	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/store"
)

// roleTokens takes a role's name as its token.
type roleTokens struct{}

func (roleTokens) Authenticate(token string) (auth.Role, error) {
	role, err := auth.ParseRole(token)
	if err != nil {
		return "", errors.New("unknown token")
	}
	return role, nil
}

var allRoles = []auth.Role{auth.RoleReader, auth.RoleAgent, auth.RoleMaster, auth.RoleAdmin}

// referenceServer is the API server as Start builds it, with the same
// routes and nothing behind them.
func referenceServer() *apiserver.Server {
	st := store.New()
	return apiserver.New(apiserver.Deps{
		Store:  st,
		Auth:   roleTokens{},
		CAPEM:  func() []byte { return []byte("-----BEGIN CERTIFICATE-----\n") },
		Logger: slog.New(slog.DiscardHandler),
		Extra:  extraRoutes(dispatcher.New(dispatcher.Deps{Store: st}), controlplane.New(controlplane.Deps{Store: st})),
	})
}

// TestAPIReference checks GET /v1/openapi.json: a valid OpenAPI document
// whose operations are exactly the routes the server registers, each with
// its role, and the same as the committed docs/openapi.json (`make docs`
// rewrites it).
func TestAPIReference(t *testing.T) {
	srv := referenceServer()
	routes := srv.Routes()
	if _, err := openapi.Build(routes); err != nil {
		t.Errorf("a route lacks its description:\n%v", err)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /v1/openapi.json without a token: %d %s", rec.Code, rec.Body)
	}
	body := rec.Body.Bytes()
	golden.Check(t, "docs/openapi.json", body)

	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("load the document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3: %v", err)
	}
	var documented, registered []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented = append(documented, method+" "+path+" "+operationRole(t, method+" "+path, op))
		}
	}
	for _, r := range routes {
		registered = append(registered, r.Pattern+" "+roleOf(r))
	}
	slices.Sort(documented)
	slices.Sort(registered)
	if !slices.Equal(documented, registered) {
		t.Errorf("the document's operations are not the routes the server registers:\ndocumented: %q\nregistered: %q", documented, registered)
	}
}

func roleOf(r endpoint.Route) string {
	if r.Role == endpoint.Public {
		return openapi.RolePublic
	}
	return string(r.Role)
}

// operationRole is the operation's x-orch-role, checked against its
// security requirement: none for a public route, the bearer token
// otherwise.
func operationRole(t *testing.T, name string, op *openapi3.Operation) string {
	t.Helper()
	role, _ := op.Extensions["x-orch-role"].(string)
	if op.Security == nil {
		t.Errorf("%s: no security requirement", name)
		return role
	}
	public := len(*op.Security) == 0
	if public != (role == openapi.RolePublic) {
		t.Errorf("%s: x-orch-role %q but security %v", name, role, *op.Security)
	}
	return role
}

// TestRoutesEnforceTheirRoles checks that each route refuses a caller
// without a token (401) and every role its declared one does not allow
// (403), and that a public route asks for nothing. Together with
// TestAPIReference: the role the reference shows is the role enforced.
func TestRoutesEnforceTheirRoles(t *testing.T) {
	srv := referenceServer()
	mux, ok := srv.Handler().(*http.ServeMux)
	if !ok {
		t.Fatalf("Handler is a %T, not the ServeMux the routes are registered on", srv.Handler())
	}
	for _, r := range srv.Routes() {
		method, path, _ := strings.Cut(r.Pattern, " ")
		target := wildcard.ReplaceAllString(path, "x")
		if _, pattern := mux.Handler(httptest.NewRequest(method, target, nil)); pattern != r.Pattern {
			t.Errorf("%s %s reaches %q, not %q", method, target, pattern, r.Pattern)
		}
		if r.Role == endpoint.Public {
			if code := call(srv, method, target, ""); code == http.StatusUnauthorized || code == http.StatusForbidden {
				t.Errorf("public %s answers %d without a token", r.Pattern, code)
			}
			continue
		}
		if code := call(srv, method, target, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", r.Pattern, code)
		}
		for _, role := range allRoles {
			if role.Allows(r.Role) {
				continue
			}
			if code := call(srv, method, target, string(role)); code != http.StatusForbidden {
				t.Errorf("%s as %s (needs %s): %d, want 403", r.Pattern, role, r.Role, code)
			}
		}
	}
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

func call(srv *apiserver.Server, method, target, token string) int {
	req := httptest.NewRequest(method, target, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	_, _ = io.Copy(io.Discard, rec.Body)
	return rec.Code
}
