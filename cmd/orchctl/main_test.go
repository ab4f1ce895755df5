package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/master/manifest"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"
)

// fakeAPI is just enough of the REST API for orchctl: services kept in a
// map, fixed replicas and nodes.
type fakeAPI struct {
	mu       sync.Mutex
	services map[string]*orchpb.Service
	index    uint64
	requests []string
}

func newFakeAPI() *fakeAPI {
	f := &fakeAPI{services: map[string]*orchpb.Service{}, index: 41}
	f.services["default/hello"] = &orchpb.Service{
		Spec: &orchpb.ServiceSpec{Kind: "Service", Name: "hello", Namespace: "default", Replicas: proto.Int32(3),
			Mode: orchpb.ModeReplicated, Image: "orch.local/hello:1"},
		Version: 42, Generation: 1, CreateIndex: 40,
		Status: &orchpb.ServiceStatus{Desired: 3, Running: 2, Healthy: 2},
	}
	f.services["web/api"] = &orchpb.Service{
		Spec:    &orchpb.ServiceSpec{Kind: "Service", Name: "api", Namespace: "web", Replicas: proto.Int32(1), Mode: orchpb.ModeReplicated, Image: "api:2"},
		Version: 30, Generation: 4,
	}
	return f
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "Bearer tok" {
		api.WriteError(w, &api.Error{Code: api.CodeUnauthorized, Message: "missing or invalid bearer token"})
		return
	}
	w.Header().Set(api.HeaderIndex, fmt.Sprint(f.index))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/namespaces/{ns}/services", func(w http.ResponseWriter, r *http.Request) {
		f.writeServices(w, r.PathValue("ns"))
	})
	mux.HandleFunc("GET /v1/services", func(w http.ResponseWriter, r *http.Request) { f.writeServices(w, "") })
	mux.HandleFunc("GET /v1/namespaces/{ns}/services/{name}", f.getService)
	mux.HandleFunc("PUT /v1/namespaces/{ns}/services/{name}", f.putService)
	mux.HandleFunc("GET /v1/replicas", f.listReplicas)
	mux.HandleFunc("GET /v1/nodes", f.listNodes)
	mux.HandleFunc("GET /v1/watch", f.watch)
	tokenRoutes(mux)
	mux.ServeHTTP(w, r)
}

// The handlers below run with f.mu held by ServeHTTP.

func (f *fakeAPI) getService(w http.ResponseWriter, r *http.Request) {
	svc, ok := f.services[r.PathValue("ns")+"/"+r.PathValue("name")]
	if !ok {
		api.WriteError(w, &api.Error{Code: api.CodeNotFound, Message: "service not found"})
		return
	}
	b, _ := api.MarshalService(svc)
	w.Write(b)
}

func (f *fakeAPI) putService(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	spec, err := manifest.ParseOne(body)
	if err != nil {
		api.WriteError(w, &api.Error{Code: api.CodeInvalid, Message: err.Error()})
		return
	}
	f.index++
	key := spec.Namespace + "/" + spec.Name
	svc, ok := f.services[key]
	switch {
	case !ok:
		svc = &orchpb.Service{Generation: 1, CreateIndex: f.index}
		f.services[key] = svc
	case !proto.Equal(svc.Spec, spec):
		svc.Generation++
	}
	svc.Spec, svc.Version = spec, f.index
	b, _ := api.MarshalService(svc)
	w.Write(b)
}

func (f *fakeAPI) listReplicas(w http.ResponseWriter, r *http.Request) {
	reps := []*orchpb.Replica{
		{Id: "r-2", Namespace: "default", Service: "hello", Slot: 2, Node: "n1", State: string(orchpb.ReplicaRunning), Ip: "10.244.1.3", Restarts: 1, ExitCode: 137, Generation: 1, Message: "OOM killed"},
		{Id: "r-1", Namespace: "default", Service: "hello", Slot: 1, Node: "n1", State: string(orchpb.ReplicaRunning), Ip: "10.244.1.2", Generation: 1},
		{Id: "r-3", Namespace: "default", Service: "hello", Slot: 3, State: string(orchpb.ReplicaPending), Message: "no node has 2 CPU free"},
	}
	b, _ := api.MarshalList(reps)
	w.Write(b)
}

func (f *fakeAPI) listNodes(w http.ResponseWriter, r *http.Request) {
	b, _ := api.MarshalList([]*orchpb.Node{{Id: "n1", Name: "node-a", State: string(orchpb.NodeReady), Address: "127.0.0.1",
		Subnet: "10.244.1.0/24", Capacity: &orchpb.ResourceAmounts{CpuMillis: 2000, MemoryBytes: 4 << 30},
		Allocated: &orchpb.ResourceAmounts{CpuMillis: 250, MemoryBytes: 96 << 20}}})
	w.Write(b)
}

// watch answers the one watch the tests make (services after index 41)
// with three events, then stays open.
func (f *fakeAPI) watch(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("index") != "41" || r.URL.Query().Get("kind") != "service" {
		api.WriteError(w, &api.Error{Code: api.CodeInvalid, Message: "unexpected watch " + r.URL.RawQuery})
		return
	}
	changed := proto.Clone(f.services["default/hello"]).(*orchpb.Service)
	changed.Status.Running, changed.Version = 3, 43
	other, _ := api.NewWatchEvent(43, api.EventPut, api.KindService, f.services["web/api"])
	put, _ := api.NewWatchEvent(44, api.EventPut, api.KindService, changed)
	del, _ := api.NewWatchEvent(45, api.EventDelete, api.KindService, changed)
	enc := json.NewEncoder(w)
	for _, ev := range []api.WatchEvent{other, put, del} {
		enc.Encode(ev)
	}
	w.(http.Flusher).Flush()
	// Stay open, as a real watch does; unlock so other requests go on.
	f.mu.Unlock()
	<-r.Context().Done()
	f.mu.Lock()
}

func (f *fakeAPI) writeServices(w http.ResponseWriter, ns string) {
	var list []*orchpb.Service
	for _, s := range f.services {
		if ns == "" || s.Spec.Namespace == ns {
			list = append(list, s)
		}
	}
	b, _ := api.MarshalList(list)
	w.Write(b)
}

func (f *fakeAPI) sawRequest(prefix string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			return true
		}
	}
	return false
}

// harness runs orchctl command lines against a fake API over TLS.
type harness struct {
	t      *testing.T
	api    *fakeAPI
	config string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	t.Setenv("HOME", t.TempDir()) // never read the user's real config
	t.Setenv(client.EnvConfig, "")
	api := newFakeAPI()
	srv := httptest.NewUnstartedServer(api)
	// orchctl accepts only a master's certificate.
	clusterCA, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := clusterCA.IssueMaster([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "config")
	if err := client.WriteConfig(path, &client.Config{Server: srv.URL, Token: "tok", CA: string(clusterCA.CertPEM())}); err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, api: api, config: path}
}

func (h *harness) run(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"--config", h.config}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestGetServicesTable(t *testing.T) {
	h := newHarness(t)
	code, out, errOut := h.run("", "get", "services")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and one service (namespace default only), got:\n%s", out)
	}
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "NAME NAMESPACE REPLICAS IMAGE VERSION" {
		t.Errorf("header = %q", lines[0])
	}
	if got := strings.Fields(lines[1]); strings.Join(got, " ") != "hello default 2/3 orch.local/hello:1 42" {
		t.Errorf("row = %q", lines[1])
	}
	// Columns are aligned: the row's IMAGE starts where the header's does.
	if strings.Index(lines[0], "IMAGE") != strings.Index(lines[1], "orch.local") {
		t.Errorf("columns not aligned:\n%s", out)
	}

	code, out, _ = h.run("", "get", "svc", "-A", "-o", "wide")
	if code != 0 || !strings.Contains(out, "GENERATION") || !strings.Contains(out, "api ") || !strings.Contains(out, "web ") {
		t.Errorf("get svc -A -o wide (exit %d):\n%s", code, out)
	}
	code, out, _ = h.run("", "-n", "web", "get", "service")
	if code != 0 || !strings.Contains(out, "api:2") || strings.Contains(out, "hello") {
		t.Errorf("get service -n web (exit %d):\n%s", code, out)
	}
}

func TestGetServicesJSONAndYAML(t *testing.T) {
	h := newHarness(t)
	code, out, errOut := h.run("", "get", "services", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("a list must be a JSON array: %v\n%s", err, out)
	}
	if len(list) != 1 || list[0]["name"] != "hello" || list[0]["version"] != float64(42) {
		t.Errorf("list = %v", list)
	}
	if st, _ := list[0]["status"].(map[string]any); st["running"] != float64(2) {
		t.Errorf("status = %v", list[0]["status"])
	}

	code, out, _ = h.run("", "get", "service", "hello", "-o", "json")
	var one map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &one) != nil || one["image"] != "orch.local/hello:1" {
		t.Errorf("one object must be a JSON object (exit %d):\n%s", code, out)
	}
	svc, err := api.UnmarshalService([]byte(out))
	if err != nil || svc.GetGeneration() != 1 {
		t.Errorf("orchctl's JSON does not read back as a service: %v", err)
	}

	code, out, _ = h.run("", "get", "service", "hello", "-o", "yaml")
	var y map[string]any
	if code != 0 || yaml.Unmarshal([]byte(out), &y) != nil || y["name"] != "hello" || y["replicas"] != float64(3) {
		t.Errorf("yaml (exit %d):\n%s", code, out)
	}
}

func TestGetReplicasAndNodes(t *testing.T) {
	h := newHarness(t)
	code, out, errOut := h.run("", "get", "replicas", "-o", "wide")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := [][]string{
		{"NAME", "ID", "NODE", "STATE", "IP", "RESTARTS", "EXIT", "GENERATION", "MESSAGE"},
		{"hello.1", "r-1", "node-a", "running", "10.244.1.2", "0", "0", "1"},
		{"hello.2", "r-2", "node-a", "running", "10.244.1.3", "1", "137", "1", "OOM", "killed"},
		{"hello.3", "r-3", "-", "pending", "-", "0", "0", "0", "no", "node", "has", "2", "CPU", "free"},
	}
	if len(lines) != len(want) {
		t.Fatalf("got:\n%s", out)
	}
	for i, w := range want {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("line %d = %q, want %q", i, strings.Join(got, " "), strings.Join(w, " "))
		}
	}

	code, out, _ = h.run("", "get", "nodes")
	if code != 0 || !strings.Contains(out, "250m/2") || !strings.Contains(out, "96Mi/4Gi") || !strings.Contains(out, "10.244.1.0/24") {
		t.Errorf("get nodes (exit %d):\n%s", code, out)
	}
}

func TestApplyInvalidManifest(t *testing.T) {
	h := newHarness(t)
	file := filepath.Join(t.TempDir(), "bad.yaml")
	bad := "kind: Service\nname: hello\nimage: orch.local/hello:1\nupdate: {maxSurge: -1}\n"
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := h.run("", "apply", "-f", file)
	if code == 0 {
		t.Fatalf("invalid manifest applied; stdout:\n%s", out)
	}
	if !strings.Contains(errOut, "update.maxSurge") || !strings.Contains(errOut, "bad.yaml") {
		t.Errorf("stderr does not name the file and field: %q", errOut)
	}
	if h.api.sawRequest("PUT") {
		t.Error("an invalid manifest reached the server")
	}

	// Several documents: one bad one and nothing is sent.
	code, _, errOut = h.run("kind: Service\nname: a\nimage: x\n---\nkind: Service\nname: b\nimage: x\nreplicas: -2\n", "apply", "-f", "-")
	if code == 0 || !strings.Contains(errOut, "replicas") || h.api.sawRequest("PUT") {
		t.Errorf("multi-document with an error: exit %d, stderr %q", code, errOut)
	}
}

func TestApplyCreatedConfiguredUnchanged(t *testing.T) {
	h := newHarness(t)
	doc := "kind: Service\nname: new\nimage: orch.local/hello:1\nreplicas: 2\n---\nkind: Service\nname: hello\nimage: orch.local/hello:2\nreplicas: 3\n"
	code, out, errOut := h.run(doc, "apply", "-f", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != "service/new created\nservice/hello configured\n" {
		t.Errorf("stdout = %q", out)
	}
	code, out, _ = h.run(doc, "apply", "-f", "-")
	if code != 0 || out != "service/new unchanged\nservice/hello unchanged\n" {
		t.Errorf("second apply: exit %d stdout %q", code, out)
	}
	// -n puts a document without a namespace there, and refuses a mismatch.
	code, out, _ = h.run("kind: Service\nname: x\nimage: img\n", "apply", "-f", "-", "-n", "web")
	if code != 0 || !h.api.sawRequest("PUT /v1/namespaces/web/services/x") {
		t.Errorf("apply -n web: exit %d, %q", code, out)
	}
	code, _, errOut = h.run("kind: Service\nname: x\nnamespace: prod\nimage: img\n", "apply", "-f", "-", "-n", "web")
	if code == 0 || !strings.Contains(errOut, "does not match") {
		t.Errorf("namespace mismatch: exit %d, %q", code, errOut)
	}
}

func TestErrorsAndFlags(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"bad output", []string{"get", "svc", "-o", "xml"}, "-o xml"},
		{"unknown kind", []string{"get", "pods"}, `unknown resource type "pods"`},
		{"not found", []string{"get", "service", "nope"}, "service not found"},
		{"wrong token", []string{"--token", "bad", "get", "svc"}, "bearer token"},
		{"missing --replicas", []string{"scale", "service", "hello"}, "replicas"},
		{"apply without -f", []string{"apply"}, "filename"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := h.run("", tt.args...)
			if code == 0 {
				t.Fatal("exit 0, want failure")
			}
			if !strings.Contains(errOut, tt.wantErr) || !strings.HasPrefix(errOut, "error: ") {
				t.Errorf("stderr = %q, want %q", errOut, tt.wantErr)
			}
		})
	}

	// --server overrides the config's server (here: one that is not there).
	code, _, errOut := h.run("", "--server", "https://127.0.0.1:1", "get", "svc")
	if code == 0 || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Errorf("--server override: exit %d, %q", code, errOut)
	}
}

func TestGetWatch(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--config", h.config, "get", "services", "-w"}, nil, out, io.Discard)
	}()
	want := "deleted"
	for i := 0; i < 500 && !strings.Contains(out.String(), want); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after interrupt", code)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	wantRows := []string{
		"EVENT NAME NAMESPACE REPLICAS IMAGE VERSION",
		"added hello default 2/3 orch.local/hello:1 42",
		"modified hello default 3/3 orch.local/hello:1 43",
		"deleted hello default 3/3 orch.local/hello:1 43",
	}
	if len(lines) != len(wantRows) {
		t.Fatalf("got:\n%s", out.String())
	}
	for i, w := range wantRows {
		if got := strings.Join(strings.Fields(lines[i]), " "); got != w {
			t.Errorf("line %d = %q, want %q (other namespaces must be filtered out)", i, got, w)
		}
	}
	if strings.Index(lines[0], "NAMESPACE") != strings.Index(lines[2], "default") {
		t.Errorf("watch rows not aligned with the header:\n%s", out.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"completion", shell}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "orchctl") {
			t.Errorf("completion %s: exit %d, stderr %q", shell, code, errb.String())
		}
	}
}

func TestFormatting(t *testing.T) {
	tests := []struct{ got, want string }{
		{formatCPU(2000), "2"}, {formatCPU(250), "250m"}, {formatCPU(0), "0"},
		{formatBytes(32 << 20), "32Mi"}, {formatBytes(1536 << 20), "1.5Gi"}, {formatBytes(512), "512"},
		{shortDigest("sha256:0123456789abcdef0123"), "sha256:0123456789ab"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
