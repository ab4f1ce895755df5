// Package api is the master's HTTPS front door: the REST API of CONTRACT.md
// and the agent channel's routes (mounted from the dispatcher). It
// authenticates every request, turns bodies into Raft commands and answers
// reads from the store.
//
// It owns the mapping from errors to HTTP status codes; it must not decide
// anything about placement or replica lifecycles (the controllers do) and it
// never writes state except by proposing a command through Raft.
package apiserver

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/orch-io/orch/master/endpoint"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/apiserver/ui"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/events"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
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
	Store    *store.Store
	Proposer endpoint.Proposer
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
	Extra []endpoint.Route
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
		writeError(w, &api.Error{Code: "not_found", Message: "no such endpoint: " + r.Method + " " + r.URL.Path, Status: http.StatusNotFound})
	})
	return s
}

// Handler is the root handler.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) routes() []endpoint.Route {
	return []endpoint.Route{
		{Pattern: "GET /healthz", Role: endpoint.Public, Handler: s.healthz},
		{Pattern: "GET /v1/ca", Role: endpoint.Public, Handler: s.caCert},
		{Pattern: "GET /metrics", Role: auth.RoleReader, Handler: s.metrics.handler().ServeHTTP},
		// The web page: static files only; its data calls carry their own token.
		{Pattern: "GET /ui/", Role: endpoint.Public, Handler: ui.Handler().ServeHTTP},
		{Pattern: "GET /ui", Role: endpoint.Public, Handler: ui.Redirect},

		{Pattern: "PUT /v1/namespaces/{ns}/services/{name}", Role: auth.RoleAdmin, Handler: s.putService},
		{Pattern: "GET /v1/namespaces/{ns}/services/{name}", Role: auth.RoleReader, Handler: s.getService},
		{Pattern: "GET /v1/namespaces/{ns}/services", Role: auth.RoleReader, Handler: s.listServices},
		{Pattern: "GET /v1/services", Role: auth.RoleReader, Handler: s.listServices},
		{Pattern: "DELETE /v1/namespaces/{ns}/services/{name}", Role: auth.RoleAdmin, Handler: s.deleteService},
		{Pattern: "POST /v1/namespaces/{ns}/services/{name}/scale", Role: auth.RoleAdmin, Handler: s.scaleService},
		{Pattern: "POST /v1/namespaces/{ns}/services/{name}/rollback", Role: auth.RoleAdmin, Handler: s.rollbackService},
		{Pattern: "POST /v1/plan", Role: auth.RoleReader, Handler: s.plan},
		{Pattern: "GET /v1/events", Role: auth.RoleReader, Handler: s.events},

		{Pattern: "GET /v1/replicas", Role: auth.RoleReader, Handler: s.listReplicas},
		{Pattern: "GET /v1/replicas/{id}", Role: auth.RoleReader, Handler: s.getReplica},
		{Pattern: "GET /v1/replicas/{id}/logs", Role: auth.RoleReader, Handler: s.replicaLogs},
		{Pattern: "POST /v1/replicas/{id}/exec", Role: auth.RoleAdmin, Handler: s.replicaExec},

		{Pattern: "GET /v1/nodes", Role: auth.RoleReader, Handler: s.listNodes},
		{Pattern: "GET /v1/nodes/{id}", Role: auth.RoleReader, Handler: s.getNode},
		{Pattern: "POST /v1/nodes/{id}/cordon", Role: auth.RoleAdmin, Handler: s.setNodeState(orchpb.NodeCordoned)},
		{Pattern: "POST /v1/nodes/{id}/uncordon", Role: auth.RoleAdmin, Handler: s.setNodeState(orchpb.NodeReady)},
		{Pattern: "POST /v1/nodes/{id}/drain", Role: auth.RoleAdmin, Handler: s.setNodeState(orchpb.NodeDraining)},

		{Pattern: "GET /v1/watch", Role: auth.RoleReader, Handler: s.watch},
		{Pattern: "GET /v1/cluster", Role: auth.RoleReader, Handler: s.cluster},

		{Pattern: "POST /v1/images", Role: auth.RoleAdmin, Handler: s.loadImage},
		{Pattern: "GET /v1/images", Role: auth.RoleReader, Handler: s.listImages},
		{Pattern: "GET /v1/images/tarball", Role: auth.RoleAgent, Handler: s.imageTarball},
	}
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
			if err != nil {
				writeError(rec, &api.Error{Code: "unauthorized", Message: "missing or invalid bearer token", Status: http.StatusUnauthorized})
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
