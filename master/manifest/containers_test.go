package manifest

import (
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// podExample is the sidecar and init example of docs/manifest.md.
const podExample = `kind: Service
name: web
image: orch.local/hello:1
resources: {cpu: 100m, memory: 32Mi}
sidecars:
  - {name: proxy, image: orch.local/hello:1, args: ["--port=9090"], resources: {cpu: 50m, memory: 16Mi}}
init:
  - {name: migrate, image: orch.local/hello:1, command: ["/hello", "exit", "0"], resources: {cpu: 500m, memory: 8Mi}}
`

func TestParseSidecarsAndInit(t *testing.T) {
	for _, form := range []string{"yaml", "json"} {
		doc := []byte(podExample)
		if form == "json" {
			doc = []byte(`{"kind": "Service", "name": "web", "image": "orch.local/hello:1",
				"resources": {"cpu": "100m", "memory": "32Mi"},
				"sidecars": [{"name": "proxy", "image": "orch.local/hello:1", "args": ["--port=9090"], "resources": {"cpu": "50m", "memory": "16Mi"}}],
				"init": [{"name": "migrate", "image": "orch.local/hello:1", "command": ["/hello", "exit", "0"], "resources": {"cpu": "500m", "memory": "8Mi"}}]}`)
		}
		spec, err := ParseOne(doc)
		if err != nil {
			t.Fatalf("%s: %v", form, err)
		}
		wantSidecar := &orchpb.ReplicaContainerSpec{Name: "proxy", Image: "orch.local/hello:1", Args: []string{"--port=9090"},
			Resources: &orchpb.Resources{Cpu: "50m", Memory: "16Mi", Pids: orchpb.DefaultPids}}
		wantInit := &orchpb.ReplicaContainerSpec{Name: "migrate", Image: "orch.local/hello:1", Command: []string{"/hello", "exit", "0"},
			Resources: &orchpb.Resources{Cpu: "500m", Memory: "8Mi", Pids: orchpb.DefaultPids}}
		if len(spec.Sidecars) != 1 || !proto.Equal(spec.Sidecars[0], wantSidecar) {
			t.Errorf("%s: sidecars = %v, want [%v]", form, spec.Sidecars, wantSidecar)
		}
		if len(spec.Init) != 1 || !proto.Equal(spec.Init[0], wantInit) {
			t.Errorf("%s: init = %v, want [%v]", form, spec.Init, wantInit)
		}
	}
}

func TestRequestsAddSidecarsAndTakeTheLargestInit(t *testing.T) {
	spec, err := ParseOne([]byte(podExample))
	if err != nil {
		t.Fatal(err)
	}
	// cpu: max(100m+50m, 500m); memory: max(32Mi+16Mi, 8Mi).
	got := Requests(spec)
	if got.CpuMillis != 500 || got.MemoryBytes != 48<<20 {
		t.Errorf("Requests = %v, want 500m and 48Mi", got)
	}
	per := ContainerRequests(spec)
	if len(per) != 3 || per["web"].GetCpuMillis() != 100 || per["proxy"].GetMemoryBytes() != 16<<20 || per["migrate"].GetCpuMillis() != 500 {
		t.Errorf("ContainerRequests = %v", per)
	}
	if ContainerRequests(&orchpb.ServiceSpec{Name: "one"}) != nil {
		t.Error("a replica of one container has per-container requests")
	}
}

func TestContainerErrors(t *testing.T) {
	tests := []struct {
		name, in        string
		field, contains string
	}{
		{"no name", minimal + "sidecars: [{image: x:1}]\n", "sidecars[0].name", "required"},
		{"bad name", minimal + "sidecars: [{name: Proxy, image: x:1}]\n", "sidecars[0].name", "DNS label"},
		{"two hyphens", minimal + "sidecars: [{name: a--b, image: x:1}]\n", "sidecars[0].name", "two '-'"},
		{"main's name", minimal + "sidecars: [{name: web, image: x:1}]\n", "sidecars[0].name", "main container"},
		{"duplicate", minimal + "sidecars: [{name: p, image: x:1}, {name: p, image: x:1}]\n", "sidecars[1].name", "already the name of sidecars[0]"},
		{"init and sidecar", minimal + "init: [{name: p, image: x:1}]\nsidecars: [{name: p, image: x:1}]\n", "sidecars[0].name", "already the name of init[0]"},
		{"no image", minimal + "init: [{name: m}]\n", "init[0].image", "required"},
		{"bad image", minimal + "init: [{name: m, image: 'Bad Image'}]\n", "init[0].image", "image reference"},
		{"empty command", minimal + "init: [{name: m, image: x:1, command: ['']}]\n", "init[0].command[0]", "must not be empty"},
		{"env name", minimal + "sidecars: [{name: p, image: x:1, env: {'1A': x}}]\n", "sidecars[0].env.1A", "variable name"},
		{"cpu", minimal + "sidecars: [{name: p, image: x:1, resources: {cpu: lots}}]\n", "sidecars[0].resources.cpu", "cpu"},
		{"capability", minimal + "sidecars: [{name: p, image: x:1, capabilities: {add: [SYS_ADMIN]}}]\n", "sidecars[0].capabilities.add[0]", "not allowed"},
		{"user", minimal + "init: [{name: m, image: x:1, user: 'a b'}]\n", "init[0].user", "not a name"},
		{"sum too large", minimal + "resources: {memory: 8000P}\nsidecars: [{name: p, image: x:1, resources: {memory: 8000P}}]\n", "sidecars", "add up"},
		{"unknown field", minimal + "sidecars: [{name: p, image: x:1, ports: []}]\n", "sidecars[0].ports", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseOne([]byte(tt.in))
			if err == nil {
				t.Fatal("accepted")
			}
			if got := fieldOf(err); got != tt.field {
				t.Errorf("field = %q, want %q (%v)", got, tt.field, err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not say %q", err, tt.contains)
			}
		})
	}
}
