package agent

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// A fleet given the same list of masters spreads over them instead of
// piling onto the first.
func TestAgentsStartAtDifferentMasters(t *testing.T) {
	trust, err := newCATrust(nil)
	if err != nil {
		t.Fatal(err)
	}
	urls := []string{"https://m1:7400", "https://m2:7400", "https://m3:7400"}
	seen := map[string]int{}
	for range 300 {
		seen[newMasterConn(urls, "token", trust).base()]++
	}
	for _, u := range urls {
		if seen[u] < 50 {
			t.Errorf("%d of 300 agents start at %s, want about 100 each: %v", seen[u], u, seen)
		}
	}
}

// TestSlowMasterKeepsItsAgents: a call that times out at a master that
// answered lately leaves the agent there (the cluster is slow, and every
// master would be); once the master has been silent for heardRecently, a
// timeout moves the agent on, and so does a refused connection at once.
func TestSlowMasterKeepsItsAgents(t *testing.T) {
	m := newBeatMaster(t, true)
	slow := make(chan struct{})
	defer close(slow)
	mux := m.srv.Config.Handler.(*http.ServeMux)
	mux.HandleFunc("POST /v1/agent/nodes/slow/status", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-slow:
		case <-r.Context().Done():
		}
	})
	refused := httptest.NewServer(http.NotFoundHandler())
	refused.Close()
	conn := newMasterConn([]string{m.srv.URL, refused.URL}, "t", mustTrust(t, m.caPEM))
	conn.current = 0
	call := func(node string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		return conn.reportStatus(ctx, &orchpb.StatusReport{NodeId: node})
	}
	if err := call("n1"); err != nil {
		t.Fatal(err)
	}
	if err := call("slow"); err == nil {
		t.Fatal("a call past its deadline succeeded")
	}
	if got := conn.base(); got != m.srv.URL {
		t.Fatalf("a timeout at a master heard lately moved the agent to %s", got)
	}
	conn.heard.Store(time.Now().Add(-heardRecently).UnixNano())
	if err := call("slow"); err == nil {
		t.Fatal("a call past its deadline succeeded")
	}
	if got := conn.base(); got != refused.URL {
		t.Fatalf("a timeout at a master silent for %s left the agent at %s", heardRecently, got)
	}
	if err := call("n1"); err == nil {
		t.Fatal("a call to a closed server succeeded")
	}
	if got := conn.base(); got != m.srv.URL {
		t.Fatalf("a refused connection left the agent at %s", got)
	}
}

// A report with news names the index of the newest assignment set the
// stream brought, so that a master behind the one that streamed it waits
// before it judges the statuses; a bare heartbeat names none.
func TestReportsNameTheirSetsIndex(t *testing.T) {
	m := newBeatMaster(t, true)
	got := make(chan *orchpb.StatusReport, 2)
	mux := m.srv.Config.Handler.(*http.ServeMux)
	mux.HandleFunc("POST /v1/agent/nodes/idx/status", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var rep orchpb.StatusReport
		if err := proto.Unmarshal(body, &rep); err != nil {
			t.Errorf("report: %v", err)
		}
		got <- &rep
		w.WriteHeader(http.StatusNoContent)
	})
	conn := newMasterConn([]string{m.srv.URL}, "t", mustTrust(t, m.caPEM))
	conn.setIndex.Store(42)
	ctx := context.Background()
	if err := conn.reportStatus(ctx, &orchpb.StatusReport{NodeId: "idx", Statuses: []*orchpb.ReplicaStatus{{Id: "r1", State: "running"}}}); err != nil {
		t.Fatal(err)
	}
	if rep := <-got; rep.GetAssignmentsIndex() != 42 {
		t.Errorf("a report with news names index %d, want 42", rep.GetAssignmentsIndex())
	}
	if err := conn.reportStatus(ctx, &orchpb.StatusReport{NodeId: "idx"}); err != nil {
		t.Fatal(err)
	}
	select {
	case rep := <-got:
		if rep.GetAssignmentsIndex() != 0 {
			t.Errorf("a bare heartbeat names index %d, want none", rep.GetAssignmentsIndex())
		}
	case <-time.After(5 * time.Second):
		// Not sent at all is fine too: a heartbeat may ride the stream.
	}
}
