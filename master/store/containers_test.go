package store

import (
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// A change of a sidecar's or init container's status alone is news, and
// ReportReplicaStatus stores it; the same report again is not.
func TestContainerStatusIsNews(t *testing.T) {
	r := replica("r1", "default", "web", 1, "n1", 100, 1<<20)
	r.State = "running"
	st := &orchpb.ReplicaStatus{Id: "r1", State: "running"}
	if StatusIsNews(r, "n1", st) {
		t.Fatal("an unchanged status is news")
	}
	st.Containers = []*orchpb.ContainerStatus{{Name: "proxy", Kind: "sidecar", State: "running", Restarts: 1}}
	if !StatusIsNews(r, "n1", st) {
		t.Fatal("a sidecar's restart is not news")
	}
	s := New()
	mustApply(t, s, registerNode("n1", "n1", 1000, 1<<30))
	mustApply(t, s, putService("default", "web", 1, "x:1"))
	mustApply(t, s, putReplicas(r))
	mustApply(t, s, reportStatus("n1", st))
	got := s.Replica("r1")
	if len(got.GetContainers()) != 1 || got.GetContainers()[0].GetRestarts() != 1 {
		t.Fatalf("stored containers %v", got.GetContainers())
	}
	if StatusIsNews(got, "n1", st) {
		t.Error("the stored status is news again")
	}
}
