package openapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/endpoint"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

func noop(http.ResponseWriter, *http.Request) {}

// load builds the document of routes and reads it back through
// kin-openapi, failing unless it is valid OpenAPI 3.
func load(t *testing.T, routes []endpoint.Route) *openapi3.T {
	t.Helper()
	data, err := JSON(routes)
	if err != nil {
		t.Fatalf("JSON: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("not valid OpenAPI 3: %v\n%s", err, data)
	}
	return doc
}

func TestBuildRefusesUndescribedRoutes(t *testing.T) {
	for _, tc := range []struct {
		route endpoint.Route
		want  string
	}{
		{endpoint.Route{Pattern: "GET /v1/things", Role: auth.RoleReader, Handler: noop}, "no Summary"},
		{endpoint.Route{Pattern: "GET /v1/things/{id}", Handler: noop, Summary: "s",
			Params: []endpoint.Param{endpoint.Path("name", "")}}, `path parameter "name" is not in the pattern`},
		{endpoint.Route{Pattern: "/v1/things", Handler: noop, Summary: "s"}, `want "METHOD /path"`},
		{endpoint.Route{Pattern: "GET /v1/things", Handler: noop, Summary: "s", Out: endpoint.JSON(make(chan int))}, "cannot describe Go type chan int"},
	} {
		_, err := Build([]endpoint.Route{tc.route})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Build(%q): %v, want an error with %q", tc.route.Pattern, err, tc.want)
		}
	}
	twice := endpoint.Route{Pattern: "GET /v1/things", Handler: noop, Summary: "s"}
	if _, err := Build([]endpoint.Route{twice, twice}); err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Errorf("Build of a route twice: %v", err)
	}
}

func TestOperationRoleAndSecurity(t *testing.T) {
	doc := load(t, []endpoint.Route{
		{Pattern: "GET /v1/things/{id}", Role: auth.RoleAdmin, Handler: noop, Summary: "read a thing",
			Params: []endpoint.Param{endpoint.Path("id", "the thing"), endpoint.Query("stale", "yes")}},
		{Pattern: "GET /open", Role: endpoint.Public, Handler: noop, Summary: "open to all"},
	})
	op := doc.Paths.Find("/v1/things/{id}").Get
	if op.Extensions["x-orch-role"] != "admin" || op.Security == nil || len(*op.Security) != 1 {
		t.Errorf("admin route: role %v, security %v", op.Extensions["x-orch-role"], op.Security)
	}
	if p := op.Parameters.GetByInAndName("path", "id"); p == nil || !p.Required || p.Description != "the thing" {
		t.Errorf("path parameter id: %+v", p)
	}
	if op.Parameters.GetByInAndName("query", "stale") == nil {
		t.Error("query parameter stale missing")
	}
	public := doc.Paths.Find("/open").Get
	if public.Extensions["x-orch-role"] != RolePublic || public.Security == nil || len(*public.Security) != 0 {
		t.Errorf("public route: role %v, security %v (want an empty list)", public.Extensions["x-orch-role"], public.Security)
	}
}

// TestSchemasMatchTheWireForm checks the schemas derived from the types
// against what the api package writes for them.
func TestSchemasMatchTheWireForm(t *testing.T) {
	doc := load(t, []endpoint.Route{
		{Pattern: "GET /service", Handler: noop, Summary: "s", Out: endpoint.JSON(&orchpb.Service{})},
		{Pattern: "GET /replica", Handler: noop, Summary: "s", Out: endpoint.JSON(&orchpb.Replica{})},
		{Pattern: "GET /node", Handler: noop, Summary: "s", Out: endpoint.JSON(&orchpb.Node{})},
		{Pattern: "GET /events", Handler: noop, Summary: "s", Out: endpoint.JSONList(api.ClusterEvent{})},
		{Pattern: "POST /scale", Handler: noop, Summary: "s", In: endpoint.JSON(api.ScaleRequest{})},
	})
	svc := &orchpb.Service{
		Spec: &orchpb.ServiceSpec{Kind: "Service", Name: "web", Namespace: "default", Replicas: proto.Int32(3),
			Mode: orchpb.ModeReplicated, Image: "orch.local/hello:1", Env: map[string]string{"A": "b"},
			Ports:  []*orchpb.Port{{Name: "http", Port: 8080, Protocol: "tcp"}},
			Health: &orchpb.HealthCheck{Http: &orchpb.HTTPCheck{Path: "/healthz", Port: 8080}, Interval: durationpb.New(time.Second)}},
		Version: 1 << 40, Generation: 2, CreateIndex: 7,
		Status: &orchpb.ServiceStatus{Desired: 3, Running: 2, Healthy: 2, Updating: true},
	}
	flat, err := api.MarshalService(svc)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, doc, "Service", flat)
	checkFlatKeys(t, doc, flat)

	rep, err := api.Marshal(&orchpb.Replica{Id: "r-1", Service: "web", Slot: 2, State: string(orchpb.ReplicaRunning),
		Version: 1 << 40, StartedAt: time.Now().UnixMilli(), HostPorts: []int32{80}})
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, doc, "Replica", rep)
	node, err := api.Marshal(&orchpb.Node{Id: "n-1", Name: "a", Labels: map[string]string{"zone": "a"},
		Capacity: &orchpb.ResourceAmounts{CpuMillis: 2000, MemoryBytes: 1 << 33}, LastHeartbeat: time.Now().UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, doc, "Node", node)
	ev, _ := json.Marshal(api.ClusterEvent{Seq: 1, Time: time.Now(), Type: api.EventNormal, Reason: "Started", Kind: "replica", Message: "m"})
	checkValue(t, doc, "ClusterEvent", ev)
	checkValue(t, doc, "ScaleRequest", []byte(`{"replicas": 3}`))
	if err := doc.Components.Schemas["ScaleRequest"].Value.VisitJSON(map[string]any{}); err == nil {
		t.Error("a scale body without replicas passes its schema")
	}
}

// checkValue validates the JSON data against the component schema name.
func checkValue(t *testing.T, doc *openapi3.T, name string, data []byte) {
	t.Helper()
	ref := doc.Components.Schemas[name]
	if ref == nil {
		t.Fatalf("no component schema %s", name)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if err := ref.Value.VisitJSON(v); err != nil {
		t.Errorf("%s as the API writes it does not match its schema: %v\n%s", name, err, data)
	}
}

// checkFlatKeys checks that every key of a flat Service is described: the
// schema cannot forbid others (allOf of two objects), so this test does.
func checkFlatKeys(t *testing.T, doc *openapi3.T, flat []byte) {
	t.Helper()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(flat, &obj); err != nil {
		t.Fatal(err)
	}
	spec := doc.Components.Schemas["ServiceSpec"].Value.Properties
	for key := range obj {
		if spec[key] == nil && !slices.Contains(flatServiceKeys, key) {
			t.Errorf("the flat Service has %q, which its schema does not describe", key)
		}
	}
}
