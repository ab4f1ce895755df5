// Package api is the master's HTTPS front door: the REST API of CONTRACT.md
// and the agent channel's routes (mounted from the dispatcher). It
// authenticates every request, turns bodies into Raft commands and answers
// reads from the store.
//
// It owns the mapping from errors to HTTP status codes; it must not decide
// anything about placement or replica lifecycles (the controllers do) and it
// never writes state except by proposing a command through Raft.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/orch-io/orch/master/api/ui"
	"github.com/orch-io/orch/master/api/wire"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/events"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/prometheus/client_golang/prometheus"
)

// Proposer puts a command through Raft and returns the FSM's result. It
// returns an error wrapping raftnode.ErrNotLeader when no leader can take it.
type Proposer interface {
	Apply(ctx context.Context, cmd *orchpb.Command) (*orchpb.CommandResult, error)
}

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
	Cluster(ctx context.Context) (*wire.Cluster, error)
}

// Route is one endpoint with the role it needs. Other packages (the
// dispatcher) contribute routes so that every endpoint declares its role
// next to its definition.
type Route struct {
	Pattern string // net/http ServeMux pattern, "METHOD /path/{var}"
	Role    auth.Role
	Handler http.HandlerFunc
}

// Public marks a route that needs no token.
const Public auth.Role = ""

// Deps are what the API needs from the rest of the master.
type Deps struct {
	Store    *store.Store
	Proposer Proposer
	Auth     Authenticator
	Cluster  ClusterInfo
	Images   *ImageStore
	// CAPEM is served at /v1/ca so joiners can check it against their token.
	CAPEM []byte
	Logs  LogSource
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
	// Extra routes, e.g. the agent channel.
	Extra []Route
}

// Server serves the API.
type Server struct {
	deps    Deps
	log     *slog.Logger
	mux     *http.ServeMux
	metrics *metrics
}

// New builds the server and its routes.
func New(deps Deps) *Server {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	s := &Server{deps: deps, log: deps.Logger, mux: http.NewServeMux(), metrics: newMetrics(deps.Registry)}
	for _, r := range append(s.routes(), deps.Extra...) {
		s.mux.Handle(r.Pattern, s.wrap(r))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &wire.Error{Code: "not_found", Message: "no such endpoint: " + r.Method + " " + r.URL.Path, Status: http.StatusNotFound})
	})
	return s
}

// Handler is the root handler.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) routes() []Route {
	return []Route{
		{"GET /healthz", Public, s.healthz},
		{"GET /v1/ca", Public, s.caCert},
		{"GET /metrics", auth.RoleReader, s.metrics.handler().ServeHTTP},
		// The web page: static files only; its data calls carry their own token.
		{"GET /ui/", Public, ui.Handler().ServeHTTP},
		{"GET /ui", Public, ui.Redirect},

		{"PUT /v1/namespaces/{ns}/services/{name}", auth.RoleAdmin, s.putService},
		{"GET /v1/namespaces/{ns}/services/{name}", auth.RoleReader, s.getService},
		{"GET /v1/namespaces/{ns}/services", auth.RoleReader, s.listServices},
		{"GET /v1/services", auth.RoleReader, s.listServices},
		{"DELETE /v1/namespaces/{ns}/services/{name}", auth.RoleAdmin, s.deleteService},
		{"POST /v1/namespaces/{ns}/services/{name}/scale", auth.RoleAdmin, s.scaleService},
		{"POST /v1/namespaces/{ns}/services/{name}/rollback", auth.RoleAdmin, s.rollbackService},
		{"POST /v1/plan", auth.RoleReader, s.plan},
		{"GET /v1/events", auth.RoleReader, s.events},

		{"GET /v1/replicas", auth.RoleReader, s.listReplicas},
		{"GET /v1/replicas/{id}", auth.RoleReader, s.getReplica},
		{"GET /v1/replicas/{id}/logs", auth.RoleReader, s.replicaLogs},
		{"POST /v1/replicas/{id}/exec", auth.RoleAdmin, s.replicaExec},

		{"GET /v1/nodes", auth.RoleReader, s.listNodes},
		{"GET /v1/nodes/{id}", auth.RoleReader, s.getNode},
		{"POST /v1/nodes/{id}/cordon", auth.RoleAdmin, s.setNodeState(orchpb.NodeCordoned)},
		{"POST /v1/nodes/{id}/uncordon", auth.RoleAdmin, s.setNodeState(orchpb.NodeReady)},
		{"POST /v1/nodes/{id}/drain", auth.RoleAdmin, s.setNodeState(orchpb.NodeDraining)},

		{"GET /v1/watch", auth.RoleReader, s.watch},
		{"GET /v1/cluster", auth.RoleReader, s.cluster},

		{"POST /v1/images", auth.RoleAdmin, s.loadImage},
		{"GET /v1/images", auth.RoleReader, s.listImages},
		{"GET /v1/images/tarball", auth.RoleAgent, s.imageTarball},
	}
}

// wrap adds authentication, the index header and metrics to a route.
func (s *Server) wrap(r Route) http.Handler {
	pattern := r.Pattern
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() { s.metrics.observe(pattern, rec.status, time.Since(start)) }()
		if r.Role != Public {
			role, err := s.authenticate(req)
			if err != nil {
				writeError(rec, &wire.Error{Code: "unauthorized", Message: "missing or invalid bearer token", Status: http.StatusUnauthorized})
				return
			}
			if !role.Allows(r.Role) {
				writeError(rec, &wire.Error{Code: "forbidden", Message: "role " + string(role) + " may not call " + pattern, Status: http.StatusForbidden})
				return
			}
		}
		rec.Header().Set(wire.HeaderIndex, strconv.FormatUint(s.deps.Store.Index(), 10))
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
