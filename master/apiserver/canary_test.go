package apiserver

import (
	"net/http"
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// TestCanaryRoutes: promote and abort answer 409 without a canary waiting;
// a canary manifest is refused, naming the master, while a master of
// v0.1.0 is recorded; with every master upgraded the stage starts and
// promote ends it.
func TestCanaryRoutes(t *testing.T) {
	s := newTestServer(t, nil)
	st := s.deps.Store
	record := func(protocol string) {
		st.Apply(st.Index()+1, &orchpb.Command{Op: &orchpb.Command_PutMaster{PutMaster: &orchpb.PutMaster{
			Master: &orchpb.Master{Id: "m-2", Protocol: protocol}}}})
	}
	manifest := func(image string) *strings.Reader {
		return strings.NewReader("name: web\nimage: " + image + "\nreplicas: 3\nupdate: {canary: 1}\n")
	}
	path := "/v1/namespaces/default/services/web"
	if rec := call(s, http.MethodPut, path, "admin", strings.NewReader("name: web\nimage: web:1\nreplicas: 3\n")); rec.Code/100 != 2 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	if rec := call(s, http.MethodPost, path+"/promote", "admin", nil); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "no canary waiting") {
		t.Fatalf("promote without a canary: %d %s", rec.Code, rec.Body)
	}
	if rec := call(s, http.MethodPost, path+"/abort", "reader", nil); rec.Code != http.StatusForbidden {
		t.Fatalf("abort as a reader: %d", rec.Code)
	}

	record("")
	rec := call(s, http.MethodPut, path, "admin", manifest("web:2"))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "master m-2 speaks protocol 0.1") {
		t.Fatalf("a canary with a v0.1.0 master: %d %s", rec.Code, rec.Body)
	}

	record("0.2")
	if rec := call(s, http.MethodPut, path, "admin", manifest("web:2")); rec.Code/100 != 2 {
		t.Fatalf("a canary with every master upgraded: %d %s", rec.Code, rec.Body)
	}
	if u := st.Service("default", "web").GetUpdate(); u.GetCanary() != 1 {
		t.Fatalf("update %v: want a canary stage", u)
	}
	if rec := call(s, http.MethodPost, path+"/promote", "admin", nil); rec.Code != http.StatusOK {
		t.Fatalf("promote: %d %s", rec.Code, rec.Body)
	}
	if u := st.Service("default", "web").GetUpdate(); u.GetCanary() != 0 || u.RolloutState() != orchpb.UpdateUpdating {
		t.Fatalf("update after promote %v", u)
	}
}
