package apiserver

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestPlanDocumentLimit: a plan of more documents than maxPlanDocuments
// is refused with 400 naming the limit; one at the limit is planned.
func TestPlanDocumentLimit(t *testing.T) {
	s := newTestServer(t, nil)
	manifest := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "---\nkind: Service\nname: svc-%d\nimage: orch.local/hello:1\nreplicas: 0\n", i)
		}
		return b.String()
	}
	rec := call(s, http.MethodPost, "/v1/plan", "reader", strings.NewReader(manifest(maxPlanDocuments+1)))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), fmt.Sprintf("at most %d documents", maxPlanDocuments)) {
		t.Fatalf("plan of %d documents: %d %s", maxPlanDocuments+1, rec.Code, rec.Body)
	}
	rec = call(s, http.MethodPost, "/v1/plan", "reader", strings.NewReader(manifest(maxPlanDocuments)))
	if rec.Code != http.StatusOK {
		t.Fatalf("plan of %d documents: %d %s", maxPlanDocuments, rec.Code, rec.Body)
	}
}
