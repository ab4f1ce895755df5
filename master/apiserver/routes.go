package apiserver

import (
	"net/http"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/apiserver/ui"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/endpoint"
	orchpb "github.com/orch-io/orch/proto"
)

// The routes' parameters and bodies that several of them share, for the
// API reference.
var (
	staleParam   = endpoint.Query("stale", "true answers from this master's copy without asking the leader (a read that may lag)")
	ifMatchParam = endpoint.Header(api.HeaderIfMatch, "the service's version: the write happens only if it is still that one, else 409 conflict")
	nsParam      = endpoint.Path("ns", "the namespace")
	serviceParam = endpoint.Path("name", "the service's name")
	replicaParam = endpoint.Path("id", "the replica's id, or its display name SERVICE.SLOT (hello.2)")
	replicaNS    = endpoint.Query("namespace", `the namespace of a display name (default "default")`)
	nodeParam    = endpoint.Path("id", "the node's id or name")

	manifestBody = endpoint.Body{
		Types:  []string{api.ContentTypeJSON, "application/yaml"},
		Schema: &orchpb.ServiceSpec{},
		Doc:    "a service manifest, in YAML or JSON",
	}
	serviceBody = endpoint.JSON(&orchpb.Service{})
	nodeBody    = endpoint.JSON(&orchpb.Node{})
)

// routes are the API's own endpoints; the dispatcher and the control plane
// add theirs through Deps.Extra.
func (s *Server) routes() []endpoint.Route {
	var all []endpoint.Route
	for _, group := range [][]endpoint.Route{s.baseRoutes(), s.serviceRoutes(), s.jobRoutes(), s.replicaRoutes(), s.nodeRoutes(), s.clusterRoutes(), s.imageRoutes(), s.secretRoutes(), s.volumeRoutes()} {
		all = append(all, group...)
	}
	return all
}

// baseRoutes are what a master answers about itself, and the web page.
func (s *Server) baseRoutes() []endpoint.Route {
	return []endpoint.Route{
		{Pattern: "GET /healthz", Role: endpoint.Public, Handler: s.healthz,
			Summary: "Liveness: ok when this master answers",
			Out:     endpoint.Opaque("text/plain", "ok")},
		{Pattern: "GET /v1/ca", Role: endpoint.Public, Handler: s.caCert,
			Summary: "The cluster CA's certificate, which a joining node checks against its token",
			Out:     endpoint.Opaque("application/x-pem-file", "the certificate, PEM")},
		{Pattern: "GET /v1/openapi.json", Role: endpoint.Public, Handler: s.openAPI,
			Summary: "This document: the API reference, built from the routes the master serves",
			Out:     endpoint.Opaque(api.ContentTypeJSON, "an OpenAPI 3.0 document")},
		{Pattern: "GET /metrics", Role: auth.RoleReader, Handler: s.metrics.handler().ServeHTTP,
			Summary: "This master's Prometheus metrics",
			Out:     endpoint.Opaque("text/plain", "the Prometheus text format")},
		// The web page: static files only; its data calls carry their own token.
		{Pattern: "GET " + ui.Prefix, Role: endpoint.Public, Handler: ui.Handler().ServeHTTP,
			Summary: "The web page and its files; the page calls the API with the user's token",
			Out:     endpoint.Opaque("text/html", "the page")},
		{Pattern: "GET /ui", Role: endpoint.Public, Handler: ui.Redirect,
			Summary: "Redirects to " + ui.Prefix,
			Out:     endpoint.Body{Status: http.StatusMovedPermanently}},
	}
}

func (s *Server) serviceRoutes() []endpoint.Route {
	return []endpoint.Route{
		{Pattern: "PUT /v1/namespaces/{ns}/services/{name}", Role: auth.RoleAdmin, Handler: s.putService,
			Summary: "Create or replace a service; its name and namespace must be the path's",
			Params:  []endpoint.Param{nsParam, serviceParam, ifMatchParam}, In: manifestBody,
			Out: endpoint.Body{Types: serviceBody.Types, Schema: serviceBody.Schema, Created: true,
				Doc: "the service as stored: 200 when it replaced one, 201 when it is new"}},
		{Pattern: "GET /v1/namespaces/{ns}/services/{name}", Role: auth.RoleReader, Handler: s.getService,
			Summary: "Read a service",
			Params:  []endpoint.Param{nsParam, serviceParam, staleParam}, Out: serviceBody},
		{Pattern: "GET /v1/namespaces/{ns}/services", Role: auth.RoleReader, Handler: s.listServices,
			Summary: "List the services of a namespace",
			Params:  []endpoint.Param{nsParam, staleParam}, Out: endpoint.JSONList(&orchpb.Service{})},
		{Pattern: "GET /v1/services", Role: auth.RoleReader, Handler: s.listServices,
			Summary: "List the services of every namespace",
			Params:  []endpoint.Param{staleParam}, Out: endpoint.JSONList(&orchpb.Service{})},
		{Pattern: "DELETE /v1/namespaces/{ns}/services/{name}", Role: auth.RoleAdmin, Handler: s.deleteService,
			Summary: "Delete a service: its replicas are stopped and removed; its slots' volumes are kept unless volumes=true",
			Params:  []endpoint.Param{nsParam, serviceParam, ifMatchParam, deleteVolumesParam},
			Out:     endpoint.JSON(deleted{})},
		{Pattern: "POST /v1/namespaces/{ns}/services/{name}/scale", Role: auth.RoleAdmin, Handler: s.scaleService,
			Summary: "Set a replicated service's replica count",
			Params:  []endpoint.Param{nsParam, serviceParam}, In: endpoint.JSON(api.ScaleRequest{}), Out: serviceBody},
		{Pattern: "POST /v1/namespaces/{ns}/services/{name}/rollback", Role: auth.RoleAdmin, Handler: s.rollbackService,
			Summary: "Roll a service back to its previous spec",
			Params:  []endpoint.Param{nsParam, serviceParam}, Out: serviceBody},
		{Pattern: "POST /v1/namespaces/{ns}/services/{name}/promote", Role: auth.RoleAdmin, Handler: s.promoteService,
			Summary: "Promote a canary rollout: the other slots take the new spec too (409 when no canary waits)",
			Params:  []endpoint.Param{nsParam, serviceParam}, Out: serviceBody},
		{Pattern: "POST /v1/namespaces/{ns}/services/{name}/abort", Role: auth.RoleAdmin, Handler: s.abortService,
			Summary: "Abort a canary rollout: back to the previous spec, keeping the replicas that still run it (409 when no canary waits)",
			Params:  []endpoint.Param{nsParam, serviceParam}, Out: serviceBody},
		{Pattern: "POST /v1/plan", Role: auth.RoleReader, Handler: s.plan,
			Summary: "Dry run of manifests: the diff against the cluster and where each new replica would go, or why it cannot",
			Params:  []endpoint.Param{staleParam},
			In: endpoint.Body{Types: manifestBody.Types, Schema: manifestBody.Schema, List: true,
				Doc: "service manifests: one or more YAML documents, or JSON"},
			Out: endpoint.JSONList(api.Plan{})},
		{Pattern: "POST /v1/rebalance", Role: auth.RoleAdmin, Handler: s.rebalance,
			Summary: "Move replicas to restore spread after nodes joined or came back: replacement first, within disruption budgets",
			Params:  []endpoint.Param{dryRunParam}, Out: endpoint.JSON(api.Rebalance{})},
	}
}

// deleted is the answer to a delete: the service's NAMESPACE/NAME.
type deleted struct {
	Deleted string `json:"deleted"`
}

func (s *Server) replicaRoutes() []endpoint.Route {
	return []endpoint.Route{
		{Pattern: "GET /v1/replicas", Role: auth.RoleReader, Handler: s.listReplicas,
			Summary: "List replicas, of every service or of the ones the parameters name",
			Params: []endpoint.Param{
				endpoint.Query("namespace", "only this namespace's"),
				endpoint.Query("service", "only this service's"),
				endpoint.Query("node", "only those on this node (id or name)"),
				staleParam,
			},
			Out: endpoint.JSONList(&orchpb.Replica{})},
		{Pattern: "GET /v1/replicas/{id}", Role: auth.RoleReader, Handler: s.getReplica,
			Summary: "Read a replica",
			Params:  []endpoint.Param{replicaParam, replicaNS, staleParam}, Out: endpoint.JSON(&orchpb.Replica{})},
		{Pattern: "GET /v1/replicas/{id}/logs", Role: auth.RoleReader, Handler: s.replicaLogs,
			Summary: "A replica's container output, from the node that runs it",
			Params: []endpoint.Param{replicaParam, replicaNS,
				endpoint.Query("follow", "true keeps the answer open and streams new output"),
				endpoint.Query("tail", "only the last N lines"),
				endpoint.Query("container", "a sidecar or init container by name (default: the main container)"),
			},
			Out: endpoint.Opaque("text/plain; charset=utf-8", "the output, stdout and stderr interleaved")},
		{Pattern: "POST /v1/replicas/{id}/exec", Role: auth.RoleAdmin, Handler: s.replicaExec,
			Summary: "Run a command in a running replica, over a connection upgraded to " + api.ExecProtocol,
			Params: []endpoint.Param{replicaParam, replicaNS,
				endpoint.Query("command", "the program and its arguments, one parameter each, in order"),
				endpoint.Query("stdin", "true: the client sends stdin frames"),
				endpoint.Query("tty", "true: run the command on a terminal"),
				endpoint.Query("container", "a sidecar or init container by name (default: the main container)"),
				endpoint.Header("Upgrade", api.ExecProtocol),
			},
			Out: endpoint.Body{Status: http.StatusSwitchingProtocols,
				Doc: "the connection now carries " + api.ExecProtocol + " frames both ways, ending with the exit frame"}},
	}
}

func (s *Server) nodeRoutes() []endpoint.Route {
	return []endpoint.Route{
		{Pattern: "GET /v1/nodes", Role: auth.RoleReader, Handler: s.listNodes,
			Summary: "List the nodes",
			Params:  []endpoint.Param{staleParam}, Out: endpoint.JSONList(&orchpb.Node{})},
		{Pattern: "GET /v1/nodes/{id}", Role: auth.RoleReader, Handler: s.getNode,
			Summary: "Read a node",
			Params:  []endpoint.Param{nodeParam, staleParam}, Out: nodeBody},
		{Pattern: "GET /v1/nodes/{id}/metrics", Role: auth.RoleReader, Handler: s.nodeMetrics,
			Summary: "The node's agent metrics (docs/metrics.md), fetched from its agent",
			Params:  []endpoint.Param{nodeParam},
			Out:     endpoint.Opaque("text/plain", "the Prometheus text format")},
		{Pattern: "POST /v1/nodes/{id}/cordon", Role: auth.RoleAdmin, Handler: s.setNodeState(orchpb.NodeCordoned),
			Summary: "Cordon a node: no new replica is placed on it; those it runs stay",
			Params:  []endpoint.Param{nodeParam}, Out: nodeBody},
		{Pattern: "POST /v1/nodes/{id}/uncordon", Role: auth.RoleAdmin, Handler: s.setNodeState(orchpb.NodeReady),
			Summary: "Make a cordoned or drained node take replicas again",
			Params:  []endpoint.Param{nodeParam}, Out: nodeBody},
		{Pattern: "POST /v1/nodes/{id}/drain", Role: auth.RoleAdmin, Handler: s.setNodeState(orchpb.NodeDraining),
			Summary: "Drain a node: its replicas move to other nodes and no new one is placed on it",
			Params:  []endpoint.Param{nodeParam}, Out: nodeBody},
		{Pattern: "DELETE /v1/nodes/{id}", Role: auth.RoleAdmin, Handler: s.removeNode,
			Summary: "Remove a node and free its name and subnet, so that another machine may register under the name; refused (409) for a node that is not down and holds replicas, unless force",
			Params:  []endpoint.Param{nodeParam, endpoint.Query("force", "true removes a live node with replicas: they are marked lost and replaced elsewhere")},
			Out:     endpoint.JSON(removedNode{})},
	}
}

// clusterRoutes are the cluster-wide reads: changes, events, membership.
func (s *Server) clusterRoutes() []endpoint.Route {
	return []endpoint.Route{
		{Pattern: "GET /v1/watch", Role: auth.RoleReader, Handler: s.watch,
			Summary: "Every change to services, replicas, nodes and images after an index, as it happens",
			Params: []endpoint.Param{
				endpoint.Query("index", "the Raft index to start after, usually a list's X-Orch-Index (default: now); 410 gone when it was compacted"),
				endpoint.Query("kind", "only changes of this kind: service, replica, node or image"),
			},
			Out: endpoint.Stream(api.WatchEvent{}, "one event a line; object is the object's JSON form, after a put and as it last was for a delete; a blank line is a keepalive")},
		{Pattern: "GET /v1/events", Role: auth.RoleReader, Handler: s.events,
			Summary: "The cluster's human events (scheduled, started, unhealthy, rescheduled, node down, ...)",
			Params: []endpoint.Param{
				endpoint.Query("follow", "true streams: the recent events, then each new one (newline-delimited JSON)"),
				endpoint.Query("after", "only events after this seq (to resume)"),
				endpoint.Query("limit", "at most this many of the recent events (default 500)"),
				endpoint.Query("kind", "service, replica or node"),
				endpoint.Query("namespace", "only events of this namespace"),
				endpoint.Query("service", "only events of this service"),
				endpoint.Query("replica", "only events of this replica (id or name)"),
				endpoint.Query("node", "only events of this node (id or name)"),
			},
			Out: endpoint.Body{Types: []string{api.ContentTypeJSON, api.ContentTypeNDJSON}, Schema: api.ClusterEvent{}, List: true,
				Doc: "a JSON array of the recent events; with follow=true newline-delimited JSON"}},
		{Pattern: "GET /v1/cluster", Role: auth.RoleReader, Handler: s.cluster,
			Summary: "The masters, which one leads, and the Raft index",
			Out:     endpoint.JSON(api.Cluster{})},
	}
}

func (s *Server) imageRoutes() []endpoint.Route {
	return []endpoint.Route{
		{Pattern: "POST /v1/images", Role: auth.RoleAdmin, Handler: s.loadImage,
			Summary: "Load an OCI image tarball into the cluster, so that every agent can run it without a registry",
			In:      endpoint.Opaque(api.ContentTypeTar, "an OCI image layout tarball, as `orchctl image load` sends"),
			Out:     endpoint.JSONList(&orchpb.Image{})},
		{Pattern: "GET /v1/images", Role: auth.RoleReader, Handler: s.listImages,
			Summary: "List the images loaded into the cluster",
			Params:  []endpoint.Param{staleParam}, Out: endpoint.JSONList(&orchpb.Image{})},
		{Pattern: "GET /v1/images/tarball", Role: auth.RoleAgent, Handler: s.imageTarball,
			Summary: "Download a loaded image's tarball, as agents do before running it",
			Params:  []endpoint.Param{endpoint.Query("name", "the image's name, as loaded")},
			Out:     endpoint.Opaque(api.ContentTypeTar, "the tarball")},
	}
}
