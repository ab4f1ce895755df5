package apiserver

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// TestRebalanceRoute: a dry run shows the move and writes nothing; the
// real call marks the replica; readers may not.
func TestRebalanceRoute(t *testing.T) {
	var st *store.Store
	s := newTestServer(t, func(d *Deps) { st = d.Store })
	apply := func(cmd *orchpb.Command) {
		t.Helper()
		if res := st.Apply(st.Index()+1, cmd); res.GetErrorCode() != "" || len(res.GetRejected()) > 0 {
			t.Fatalf("%v: %s %v", cmd, res.GetError(), res.GetRejected())
		}
	}
	for _, n := range []string{"a", "b"} {
		apply(&orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: &orchpb.Node{
			Id: n, Name: n, Capacity: &orchpb.ResourceAmounts{CpuMillis: 4000, MemoryBytes: 1 << 30}}}}})
	}
	spec := &orchpb.ServiceSpec{Kind: "Service", Namespace: "default", Name: "web", Image: "web:1", Replicas: proto.Int32(2)}
	apply(&orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{Spec: spec}}})
	var reps []*orchpb.Replica
	for i := int32(1); i <= 2; i++ {
		reps = append(reps, &orchpb.Replica{Id: "r" + string('0'+rune(i)), Namespace: "default", Service: "web", Slot: i, Node: "a",
			DesiredState: string(orchpb.DesiredRunning), State: string(orchpb.ReplicaRunning), Generation: 1, Spec: spec})
	}
	apply(&orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: reps}}})

	before := st.Index()
	rec := call(s, http.MethodPost, "/v1/rebalance?dryRun=true", "admin", nil)
	var out api.Rebalance
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
		t.Fatalf("dry run: %d %s", rec.Code, rec.Body)
	}
	if !out.DryRun || len(out.Moves) != 1 || out.Moves[0].From != "a" || out.Moves[0].To != "b" || st.Index() != before {
		t.Fatalf("dry run %+v (index %d→%d), want one move a→b and no write", out, before, st.Index())
	}
	if rec := call(s, http.MethodPost, "/v1/rebalance", "reader", nil); rec.Code != http.StatusForbidden {
		t.Errorf("reader: %d, want 403", rec.Code)
	}
	rec = call(s, http.MethodPost, "/v1/rebalance", "admin", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("rebalance: %d %s", rec.Code, rec.Body)
	}
	if r := st.Replica(out.Moves[0].ID); r == nil || !r.GetMoving() {
		t.Errorf("replica %v, want it marked moving", r)
	}
}
