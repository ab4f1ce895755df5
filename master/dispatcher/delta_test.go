package dispatcher

import (
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// TestDeltaReusesHashesOfUnchangedReplicas: a stream re-encodes only the
// assignments whose stored replica changed, and what it keeps stays
// exactly what a fresh stream computes (else a resume would resync
// forever).
func TestDeltaReusesHashesOfUnchangedReplicas(t *testing.T) {
	rig := newStreamRig(t)
	rig.putReplica(t, "r1", orchpb.DesiredRunning)
	rig.putReplica(t, "r2", orchpb.DesiredRunning)
	state := newDeltaState("a", false)
	state.whole(readNodeSet(rig.st, "a"), peerChanges{})
	r1 := state.assigned["r1"]
	if r1.from == nil || r1.from != rig.st.Replica("r1") {
		t.Fatalf("r1's hash is not tied to its stored replica: %+v", r1)
	}

	// A status report stores a new copy of r2; its assignment is the same.
	rig.apply(t, &orchpb.Command{Op: &orchpb.Command_ReportReplicaStatus{ReportReplicaStatus: &orchpb.ReportReplicaStatus{
		NodeId: "a", Statuses: []*orchpb.ReplicaStatus{{Id: "r2", State: string(orchpb.ReplicaStarting)}}}}})
	if msg := state.next(readNodeSet(rig.st, "a"), peerChanges{}); msg != nil {
		t.Fatalf("a status report sent assignments %v", ids(msg.GetAssignments()))
	}
	if got := state.assigned["r2"].from; got != rig.st.Replica("r2") {
		t.Error("r2's hash is still tied to the copy the report replaced")
	}

	// A change the agent must see is sent, cached hash or not.
	rig.apply(t, &orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: []*orchpb.Replica{{
		Id: "r1", Namespace: "default", Service: "web", Slot: 1, Node: "a", Generation: 2,
		DesiredState: string(orchpb.DesiredRunning), State: string(orchpb.ReplicaAssigned)}}}}})
	msg := state.next(readNodeSet(rig.st, "a"), peerChanges{})
	if got := ids(msg.GetAssignments()); len(got) != 1 || got[0] != "r1" {
		t.Fatalf("r1's new generation sent assignments %v, want [r1]", got)
	}

	fresh := newDeltaState("a", false)
	fresh.whole(readNodeSet(rig.st, "a"), peerChanges{})
	if fresh.digest() != state.digest() {
		t.Fatalf("digest after deltas %016x, a fresh stream's %016x", state.digest(), fresh.digest())
	}
}

// TestDeltaHashesSecretsEveryTime: an assignment that carries secret
// values (read from other objects than its replica) is hashed at every
// change, so a rotated secret reaches the agent.
func TestDeltaHashesSecretsEveryTime(t *testing.T) {
	a := &orchpb.Assignment{Replica: &orchpb.Replica{Id: "r1"}, SecretData: []*orchpb.SecretData{
		{Kind: "secret", Name: "db", Version: 1, Data: map[string][]byte{"password": []byte("one")}}}}
	from := &orchpb.Replica{Id: "r1"}
	first := hashAssignment(a, from, sentAssignment{})
	if first.from != nil {
		t.Fatal("an assignment with secret values was tied to its replica")
	}
	a.SecretData[0] = &orchpb.SecretData{Kind: "secret", Name: "db", Version: 2, Data: map[string][]byte{"password": []byte("two")}}
	if hashAssignment(a, from, first).hash == first.hash {
		t.Fatal("a rotated secret did not change the assignment's hash")
	}
	plain := &orchpb.Assignment{Replica: &orchpb.Replica{Id: "r1"}}
	tied := hashAssignment(plain, from, sentAssignment{})
	if tied.from != from || hashAssignment(plain, from, tied) != tied {
		t.Fatal("an assignment built from its replica alone was not tied to it")
	}
}
