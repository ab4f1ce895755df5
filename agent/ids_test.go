package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// TestReplicaIDsNeverLeaveTheDataDir: an id that is not one path element
// is refused by the logs endpoint (400, nothing read) and ignored in an
// assignment set (no worker, so no state, log or /etc files).
func TestReplicaIDsNeverLeaveTheDataDir(t *testing.T) {
	a := testAgent(t, newFakeRuntime())
	secret := filepath.Join(a.cfg.DataDir, "secret.log")
	if err := os.WriteFile(secret, []byte("node key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/logs/{id}", a.serveLogs)
	for _, path := range []string{"/v1/logs/..%2Fsecret", "/v1/logs/%2E%2E%2Fsecret", "/v1/logs/a%00b"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("GET %s: %d %q, want 400", path, rec.Code, rec.Body)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.apply(ctx, &orchpb.AssignmentSet{Assignments: []*orchpb.Assignment{
		{Replica: &orchpb.Replica{Id: "../../etc", DesiredState: orchpb.DesiredRunning}},
	}})
	a.mu.Lock()
	n := len(a.workers)
	a.mu.Unlock()
	if n != 0 {
		t.Fatalf("a worker started for a replica id with a path in it")
	}
}
