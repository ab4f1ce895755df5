// Package apiserver is the master's HTTPS front door: the REST API
// (docs/api.md), the agent channel's routes (mounted from the dispatcher)
// and the control plane's. It authenticates every request, turns bodies
// into Raft commands and answers reads from the store. Its route table,
// each route with its role and description, is also the API reference it
// serves at GET /v1/openapi.json (docs/openapi.json in the repository).
//
// It owns the mapping from errors to HTTP status codes; it must not decide
// anything about placement or replica lifecycles (the controllers do) and it
// never writes state except by proposing a command through Raft.
package apiserver

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/seal"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/apiserver/openapi"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/events"
	"github.com/orch-io/orch/master/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Authenticator maps a bearer token to its role.
type Authenticator interface {
	Authenticate(token string) (auth.Role, error)
}

// RequestAuthenticator is an Authenticator that also looks at the request
// itself (a master's TLS client certificate); the API prefers it when Auth
// implements it.
type RequestAuthenticator interface {
	AuthenticateRequest(r *http.Request) (auth.Role, error)
}

// ClusterInfo describes the Raft membership for GET /v1/cluster.
type ClusterInfo interface {
	Cluster(ctx context.Context) (*api.Cluster, error)
}

// Deps are what the API needs from the rest of the master.
type Deps struct {
	Store *store.Store
	// DataKey seals secret values before they are proposed; nil refuses
	// writes of secrets.
	DataKey  *seal.Key
	Proposer endpoint.Proposer
	Auth     Authenticator
	Cluster  ClusterInfo
	Images   *ImageStore
	// CAPEM is served at /v1/ca so joiners can check it against their
	// token: the CA that signs now, and after (or during) a CA replacement
	// the cross certificate and the CA it replaced.
	CAPEM func() []byte
	Logs  LogSource
	// NodeMetrics fetches a node's agent metrics (GET /v1/nodes/{id}/metrics).
	NodeMetrics NodeMetricsSource
	// Exec runs commands in replicas (orchctl exec); nil disables it.
	Exec ExecSource
	// Events is this master's human event stream (GET /v1/events).
	Events *events.Log
	// ReadBarrier, when set, is called before a linearizable read; it must
	// return once the local store reflects every write acknowledged before
	// the call.
	ReadBarrier func(ctx context.Context) error
	// Heartbeats fills in Node.lastHeartbeat, which is not replicated.
	Heartbeats func(nodeID string) (time.Time, bool)
	Logger     *slog.Logger
	Registry   prometheus.Registerer
	// HostPorts is which host ports services may publish (zero value:
	// DefaultHostPortRange); checked when a service is put or planned.
	HostPorts HostPortPolicy
	// Extra routes, e.g. the agent channel.
	Extra []endpoint.Route
	// MaxStreams caps the watch, follow and exec streams one token holds
	// open at once (default DefaultMaxStreams).
	MaxStreams int
}

// Server serves the API.
type Server struct {
	deps    Deps
	log     *slog.Logger
	mux     *http.ServeMux
	metrics *metrics
	streams *streamLimiter
	// table is every route registered, Extra included; reference is its
	// OpenAPI document.
	table     []endpoint.Route
	reference []byte
}

// New builds the server and its routes.
func New(deps Deps) *Server {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	s := &Server{deps: deps, log: deps.Logger, mux: http.NewServeMux(), streams: newStreamLimiter(deps.MaxStreams)}
	s.metrics = newMetrics(deps.Registry, s.streams.inFlight)
	s.table = append(s.routes(), deps.Extra...)
	for _, r := range s.table {
		s.mux.Handle(r.Pattern, s.wrap(r))
	}
	var err error
	if s.reference, err = openapi.JSON(s.table); err != nil {
		// A route without its description: the reference test fails on it;
		// the server still serves the routes and the rest of the document.
		s.log.Error("the API reference is incomplete", "err", err)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &api.Error{Code: "not_found", Message: "no such endpoint: " + r.Method + " " + r.URL.Path, Status: http.StatusNotFound})
	})
	return s
}

// Handler is the root handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Routes are the routes the server registered, in order, Extra included.
func (s *Server) Routes() []endpoint.Route { return slices.Clone(s.table) }

// openAPI serves the API reference.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, bytes.TrimSuffix(s.reference, []byte("\n")))
}

// wrap adds authentication, the index header and metrics to a route.
func (s *Server) wrap(r endpoint.Route) http.Handler {
	pattern := r.Pattern
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() { s.metrics.observe(pattern, rec.status, time.Since(start)) }()
		if r.Role != endpoint.Public {
			role, err := s.authenticate(req)
			if errors.Is(err, auth.ErrCannotTell) {
				// A restarted master without a leader yet: the token may
				// be one it has not applied. Retrying is safe.
				writeError(rec, &api.Error{Code: api.CodeNoLeader, Message: "cannot check the bearer token now: this master has not caught up with the cluster (no leader yet); try again", Status: http.StatusServiceUnavailable})
				return
			}
			if err != nil {
				msg := "missing or invalid bearer token"
				if errors.Is(err, auth.ErrExpired) {
					msg = "bearer token expired"
				}
				writeError(rec, &api.Error{Code: "unauthorized", Message: msg, Status: http.StatusUnauthorized})
				return
			}
			if !role.Allows(r.Role) {
				writeError(rec, &api.Error{Code: "forbidden", Message: "role " + string(role) + " may not call " + pattern, Status: http.StatusForbidden})
				return
			}
		}
		rec.Header().Set(api.HeaderIndex, strconv.FormatUint(s.deps.Store.Index(), 10))
		r.Handler(rec, req)
	})
}

func (s *Server) authenticate(r *http.Request) (auth.Role, error) {
	if ra, ok := s.deps.Auth.(RequestAuthenticator); ok {
		return ra.AuthenticateRequest(r)
	}
	return s.deps.Auth.Authenticate(bearer(r))
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(token)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}

// statusRecorder remembers the status for metrics and keeps Flush working
// for streamed answers.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
