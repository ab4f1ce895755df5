package apiserver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
)

func TestJobRoutes(t *testing.T) {
	s := newTestServer(t, nil)
	job := "kind: Job\nname: migrate\nimage: orch.local/hello:1\ncompletions: 3\n"
	if rec := call(s, "PUT", "/v1/namespaces/default/jobs/migrate", "admin", strings.NewReader(job)); rec.Code != http.StatusCreated {
		t.Fatalf("put job: %d %s", rec.Code, rec.Body)
	}
	if rec := call(s, "PUT", "/v1/namespaces/default/jobs/migrate", "admin", strings.NewReader(job)); rec.Code != http.StatusOK {
		t.Fatalf("put the same job again: %d %s", rec.Code, rec.Body)
	}
	other := strings.Replace(job, "completions: 3", "completions: 4", 1)
	if rec := call(s, "PUT", "/v1/namespaces/default/jobs/migrate", "admin", strings.NewReader(other)); rec.Code != http.StatusConflict {
		t.Fatalf("put another spec for a job: %d %s", rec.Code, rec.Body)
	}
	svc := "kind: Service\nname: web\nimage: orch.local/hello:1\n"
	if rec := call(s, "PUT", "/v1/namespaces/default/jobs/web", "admin", strings.NewReader(svc)); rec.Code != http.StatusBadRequest {
		t.Fatalf("a service put as a job: %d %s", rec.Code, rec.Body)
	}
	if rec := call(s, "PUT", "/v1/namespaces/default/services/web", "admin", strings.NewReader(svc)); rec.Code != http.StatusCreated {
		t.Fatalf("put service: %d %s", rec.Code, rec.Body)
	}
	rec := call(s, "GET", "/v1/namespaces/default/jobs/migrate", "reader", nil)
	got, err := api.UnmarshalService(rec.Body.Bytes())
	if rec.Code != http.StatusOK || err != nil {
		t.Fatalf("get job: %d %s %v", rec.Code, rec.Body, err)
	}
	if st := got.GetStatus().GetJob(); st.JobState() != orchpb.JobRunning || got.GetSpec().GetCompletions() != 3 || st.GetStartedAt() == 0 {
		t.Fatalf("job as read: %v", got)
	}
	jobs, _ := api.UnmarshalList(call(s, "GET", "/v1/jobs", "reader", nil).Body.Bytes(), func() *orchpb.Service { return &orchpb.Service{} })
	services, _ := api.UnmarshalList(call(s, "GET", "/v1/services", "reader", nil).Body.Bytes(), func() *orchpb.Service { return &orchpb.Service{} })
	if len(jobs) != 1 || jobs[0].GetSpec().GetName() != "migrate" || len(services) != 1 || services[0].GetSpec().GetName() != "web" {
		t.Fatalf("jobs %v, services %v: each list holds its own kind", jobs, services)
	}
	if rec := call(s, "GET", "/v1/namespaces/default/services/migrate", "reader", nil); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "is a job") {
		t.Fatalf("a job read as a service: %d %s", rec.Code, rec.Body)
	}
	if rec := call(s, "DELETE", "/v1/namespaces/default/jobs/web", "admin", nil); rec.Code != http.StatusNotFound {
		t.Fatalf("a service deleted as a job: %d %s", rec.Code, rec.Body)
	}
	if rec := call(s, "DELETE", "/v1/namespaces/default/jobs/migrate", "reader", nil); rec.Code != http.StatusForbidden {
		t.Fatalf("a reader deleting a job: %d", rec.Code)
	}
	if rec := call(s, "DELETE", "/v1/namespaces/default/jobs/migrate", "admin", nil); rec.Code != http.StatusOK {
		t.Fatalf("delete job: %d %s", rec.Code, rec.Body)
	}
	if rec := call(s, "GET", "/v1/namespaces/default/jobs/migrate", "reader", nil); rec.Code != http.StatusNotFound {
		t.Fatalf("a deleted job: %d", rec.Code)
	}
}
