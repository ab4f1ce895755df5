package dispatcher

import (
	"slices"
	"testing"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// TestChangedStatusesKeepsOnlyNews: what would change nothing in the FSM
// (the same status, another node's replica, a lost one, an unknown id) is
// never proposed.
func TestChangedStatusesKeepsOnlyNews(t *testing.T) {
	rep := func(id, node string, state orchpb.ReplicaState) *orchpb.Replica {
		return &orchpb.Replica{Id: id, Namespace: "default", Service: "web", Node: node,
			DesiredState: string(orchpb.DesiredRunning), State: string(state), Ip: "10.244.1.2"}
	}
	st := store.New()
	st.Restore(&orchpb.StateSnapshot{Index: 3, Replicas: []*orchpb.Replica{
		rep("same", "n1", orchpb.ReplicaRunning),
		rep("moved", "n1", orchpb.ReplicaStarting),
		rep("lost", "n1", orchpb.ReplicaLost),
		rep("other", "n2", orchpb.ReplicaStarting),
	}})
	d := New(Deps{Store: st})
	running := func(id string) *orchpb.ReplicaStatus {
		return &orchpb.ReplicaStatus{Id: id, State: string(orchpb.ReplicaRunning), Ip: "10.244.1.2"}
	}
	n1 := &orchpb.Node{Id: "n1", Name: "node-1", Subnet: "10.244.1.0/24"}
	var ids []string
	changed, refused := d.changedStatuses(n1, []*orchpb.ReplicaStatus{running("same"), running("moved"), running("lost"), running("unknown")})
	for _, s := range changed {
		ids = append(ids, s.GetId())
	}
	if want := []string{"moved"}; refused != "" || !slices.Equal(ids, want) {
		t.Fatalf("proposed %v (refused %q), want %v", ids, refused, want)
	}
	// Another node's replica is never proposed: the whole report is refused.
	changed, refused = d.changedStatuses(n1, []*orchpb.ReplicaStatus{running("moved"), running("other")})
	if len(changed) != 0 || refused == "" {
		t.Fatalf("a report naming another node's replica proposed %v (refused %q)", changed, refused)
	}
}
