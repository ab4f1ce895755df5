package agent

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/orch-io/orch/agent/logs"
	orchpb "github.com/orch-io/orch/proto"
)

// TestReplicaIDsNeverLeaveTheDataDir: an id that is not one path element
// is refused by the logs endpoint (400, nothing read) and ignored in an
// assignment set (no worker, so no state, log or /etc files).
func TestReplicaIDsNeverLeaveTheDataDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.log"), []byte("node key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := &server{logs: logs.New(filepath.Join(dir, "logs")), log: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/logs/{id}", srv.serveLogs)
	for _, path := range []string{"/v1/logs/..%2Fsecret", "/v1/logs/%2E%2E%2Fsecret", "/v1/logs/a%00b"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("GET %s: %d %q, want 400", path, rec.Code, rec.Body)
		}
	}

	s, ctx := startReplicaSet(t, newFakeRuntime(), nil)
	s.apply(ctx, setOf(&orchpb.Assignment{Replica: &orchpb.Replica{Id: "../../etc", DesiredState: string(orchpb.DesiredRunning)}}))
	if s.runs("../../etc") {
		t.Fatalf("a worker started for a replica id with a path in it")
	}
}
