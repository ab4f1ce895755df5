package apiserver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
)

// TestVolumeRoutes: a service with a persistent volume is refused while a
// master of v0.1.0 is recorded; once bound, its volume is listed with its
// state (readers may list, only admins forget); a forget is refused while
// the slot runs there; delete service keeps the volume unless
// volumes=true, which also works on a service deleted earlier.
func TestVolumeRoutes(t *testing.T) {
	s := newTestServer(t, nil)
	st := s.deps.Store
	apply := func(cmd *orchpb.Command) {
		if res := st.Apply(st.Index()+1, cmd); res.GetErrorCode() != "" || len(res.GetRejected()) > 0 {
			t.Fatalf("apply: %v", res)
		}
	}
	apply(&orchpb.Command{Op: &orchpb.Command_PutMaster{PutMaster: &orchpb.PutMaster{Master: &orchpb.Master{Id: "m-2"}}}})
	path := "/v1/namespaces/default/services/db"
	body := "name: db\nimage: db:1\nvolumes: [{name: data, mountPath: /data}]\n"
	if rec := call(s, http.MethodPut, path, "admin", strings.NewReader(body)); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), "master m-2 speaks protocol 0.1") {
		t.Fatalf("volumes with a v0.1.0 master: %d %s", rec.Code, rec.Body)
	}
	apply(&orchpb.Command{Op: &orchpb.Command_PutMaster{PutMaster: &orchpb.PutMaster{Master: &orchpb.Master{Id: "m-2", Protocol: "0.2"}}}})
	if rec := call(s, http.MethodPut, path, "admin", strings.NewReader(body)); rec.Code/100 != 2 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	apply(&orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: &orchpb.Node{
		Id: "n1", Name: "node1", Address: "10.0.0.1", Capacity: &orchpb.ResourceAmounts{CpuMillis: 1000, MemoryBytes: 1 << 30}}}}})
	apply(&orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: []*orchpb.Replica{{
		Id: "r1", Namespace: "default", Service: "db", Slot: 1, Node: "n1", DesiredState: string(orchpb.DesiredRunning),
		Spec: st.Service("default", "db").GetSpec()}}}}})

	list := func(want string) {
		t.Helper()
		rec := call(s, http.MethodGet, "/v1/volumes", "reader", nil)
		vols, err := api.UnmarshalList(rec.Body.Bytes(), func() *orchpb.Volume { return &orchpb.Volume{} })
		got := ""
		for _, v := range vols {
			got += v.DisplayName() + "@" + v.GetNode() + ":" + v.GetState() + " "
		}
		if rec.Code != http.StatusOK || err != nil || strings.TrimSpace(got) != want {
			t.Fatalf("GET /v1/volumes: %d %q (%v), want %q", rec.Code, got, err, want)
		}
	}
	list("db.1/data@n1:in-use")
	forget := path + "/volumes/1/data"
	if rec := call(s, http.MethodDelete, forget, "reader", nil); rec.Code != http.StatusForbidden {
		t.Fatalf("forget as a reader: %d", rec.Code)
	}
	if rec := call(s, http.MethodDelete, forget, "admin", nil); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "stop the slot first") {
		t.Fatalf("forget of a volume in use: %d %s", rec.Code, rec.Body)
	}
	if rec := call(s, http.MethodDelete, path+"/volumes/x/data", "admin", nil); rec.Code != http.StatusBadRequest {
		t.Fatalf("forget of slot x: %d %s", rec.Code, rec.Body)
	}
	if rec := call(s, http.MethodDelete, path, "admin", nil); rec.Code != http.StatusOK {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	list("db.1/data@n1:idle")
	if rec := call(s, http.MethodDelete, path+"?volumes=true", "admin", nil); rec.Code != http.StatusOK {
		t.Fatalf("delete --volumes of a deleted service: %d %s", rec.Code, rec.Body)
	}
	list("")
}
