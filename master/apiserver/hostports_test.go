package apiserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

func specWithHostPorts(ports ...int32) *orchpb.ServiceSpec {
	spec := &orchpb.ServiceSpec{}
	for _, p := range ports {
		spec.Ports = append(spec.Ports, &orchpb.Port{Port: 8080, HostPort: p})
	}
	return spec
}

func TestHostPortPolicy(t *testing.T) {
	def, err := ParseHostPortRange("", 9400)
	if err != nil {
		t.Fatal(err)
	}
	wide, err := ParseHostPortRange("1-65535,53", 9400)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		policy HostPortPolicy
		ports  []int32
		field  string // "" when allowed
	}{
		{"no host port", def, []int32{0}, ""},
		{"unprivileged", def, []int32{0, 18080}, ""},
		{"privileged", def, []int32{18080, 22}, "ports[1].hostPort"},
		{"vxlan", def, []int32{4789}, "ports[0].hostPort"},
		{"api", def, []int32{7400}, "ports[0].hostPort"},
		{"raft", def, []int32{7401}, "ports[0].hostPort"},
		{"agent", def, []int32{7402}, "ports[0].hostPort"},
		{"this master's own port", def, []int32{9400}, "ports[0].hostPort"},
		{"widened: privileged", wide, []int32{22}, ""},
		{"widened: still not orch's ports", wide, []int32{7400}, "ports[0].hostPort"},
		{"widened: named alone", wide, []int32{53}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(specWithHostPorts(tt.ports...))
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.field != "" && (err == nil || err.Field != tt.field || !strings.HasPrefix(err.Message, tt.field+": ") || err.Status != http.StatusBadRequest):
				t.Fatalf("got %+v, want a 400 naming %s", err, tt.field)
			}
		})
	}
	for _, bad := range []string{"0-80", "80-70", "x", "1024-70000", "1024,"} {
		if _, err := ParseHostPortRange(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

type adminTokens struct{}

func (adminTokens) Authenticate(string) (auth.Role, error) { return auth.RoleAdmin, nil }

// PUT of a service and a plan both refuse a host port below 1024 with a
// 400 naming the field, before anything is proposed.
func TestHostPortRefusedAtAdmission(t *testing.T) {
	srv := New(Deps{Store: store.New(), Auth: adminTokens{}})
	body := "kind: Service\nname: web\nimage: orch.local/hello:1\nports: [{port: 8080, hostPort: 22}]\n"
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodPut, "/v1/namespaces/default/services/web", strings.NewReader(body)),
		httptest.NewRequest(http.MethodPost, "/v1/plan", strings.NewReader(body)),
	} {
		req.Header.Set("Authorization", "Bearer x")
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		var got struct{ Error api.Error }
		_ = json.Unmarshal(rec.Body.Bytes(), &got)
		if rec.Code != http.StatusBadRequest || got.Error.Field != "ports[0].hostPort" || !strings.HasPrefix(got.Error.Message, "ports[0].hostPort: 22 ") {
			t.Errorf("%s %s: %d %s; want 400 naming ports[0].hostPort", req.Method, req.URL.Path, rec.Code, rec.Body)
		}
	}
}
