package dispatcher

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/master/store"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// recordingProposer keeps the commands proposed to it.
type recordingProposer struct {
	mu   sync.Mutex
	cmds []*orchpb.Command
}

func (p *recordingProposer) Apply(_ context.Context, cmd *orchpb.Command) (*orchpb.CommandResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cmds = append(p.cmds, cmd)
	return &orchpb.CommandResult{}, nil
}

func (p *recordingProposer) proposed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.cmds)
}

// TestReportWaitsForTheAssignmentsItsAgentHolds: an agent's set may come
// from a master ahead of the one taking its report (a follower streams it,
// the leader has not applied it yet). A report that names the set's index
// waits until this master applied it, and its status of the new replica
// is recorded; without the index (an agent of v0.1.0) the status of a
// replica this master does not know is dropped, as before; a master that
// does not catch up in time asks the agent to try again.
func TestReportWaitsForTheAssignmentsItsAgentHolds(t *testing.T) {
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	n1 := &orchpb.Node{Id: "n1", Name: "node-1", Subnet: "10.244.1.0/24", State: string(orchpb.NodeReady)}
	st := store.New()
	st.Restore(&orchpb.StateSnapshot{Index: 3, Nodes: []*orchpb.Node{n1}})
	p := &recordingProposer{}
	d := New(Deps{Store: st, Proposer: p, IsLeader: func() bool { return true }})
	running := &orchpb.ReplicaStatus{Id: "r1", State: string(orchpb.ReplicaRunning)}
	report := func(index uint64) int {
		body, _ := proto.Marshal(&orchpb.StatusReport{NodeId: "n1", Statuses: []*orchpb.ReplicaStatus{running}, AssignmentsIndex: index})
		r := httptest.NewRequest(http.MethodPost, "/v1/agent/nodes/n1/status", strings.NewReader(string(body)))
		r.SetPathValue("id", "n1")
		r.TLS = nodeTLS(t, ca, "node-1", "n1")
		w := httptest.NewRecorder()
		d.status(w, r)
		return w.Code
	}
	if code := report(0); code != http.StatusNoContent || p.proposed() != 0 {
		t.Fatalf("a report without an index, of a replica not applied here: %d, %d proposed; want 204 and none", code, p.proposed())
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		st.Restore(&orchpb.StateSnapshot{Index: 4, Nodes: []*orchpb.Node{n1}, Replicas: []*orchpb.Replica{{
			Id: "r1", Namespace: "default", Service: "web", Node: "n1",
			DesiredState: string(orchpb.DesiredRunning), State: string(orchpb.ReplicaAssigned)}}})
	}()
	if code := report(4); code != http.StatusNoContent || p.proposed() != 1 {
		t.Fatalf("a report naming the set's index: %d, %d proposed; want 204 and the status proposed once the replica was applied", code, p.proposed())
	}
	if code := report(99); code != http.StatusServiceUnavailable {
		t.Fatalf("a report ahead of what this master reaches: %d, want 503 (try again)", code)
	}
}
