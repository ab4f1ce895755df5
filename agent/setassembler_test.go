package agent

import (
	"fmt"
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

func asg(id string) *orchpb.Assignment {
	return &orchpb.Assignment{Replica: &orchpb.Replica{Id: id}}
}

func describeSet(set *orchpb.AssignmentSet) string {
	var a, p []string
	for _, x := range set.GetAssignments() {
		a = append(a, x.GetReplica().GetId())
	}
	for _, x := range set.GetPeers() {
		p = append(p, x.GetId())
	}
	return fmt.Sprintf("assignments [%s] peers [%s] volumes %d", strings.Join(a, " "), strings.Join(p, " "), len(set.GetVolumes()))
}

func mustApply(t *testing.T, a *setAssembler, msg *orchpb.AssignmentSet, want string) *orchpb.AssignmentSet {
	t.Helper()
	set, err := a.apply(msg)
	if err != nil {
		t.Fatalf("message %d: %v", msg.GetSeq(), err)
	}
	if got := describeSet(set); got != want {
		t.Fatalf("after message %d: %s, want %s", msg.GetSeq(), got, want)
	}
	return set
}

// TestSetAssemblerAppliesDeltas: a whole set, then puts, removals, peer
// changes, a volume list and keepalives give the set the master holds.
func TestSetAssemblerAppliesDeltas(t *testing.T) {
	var a setAssembler
	if since := a.begin(); since != 0 {
		t.Fatalf("a new assembler asks to begin from %016x", since)
	}
	mustApply(t, &a, &orchpb.AssignmentSet{Seq: 1, Digest: 11, Assignments: []*orchpb.Assignment{asg("r2"), asg("r1")},
		Peers: []*orchpb.Node{{Id: "b"}}}, "assignments [r1 r2] peers [b] volumes 0")
	prev := mustApply(t, &a, &orchpb.AssignmentSet{Seq: 2, Digest: 12, Delta: true, Assignments: []*orchpb.Assignment{asg("r3")},
		Removed: []string{"r1"}, Peers: []*orchpb.Node{{Id: "c"}}}, "assignments [r2 r3] peers [b c] volumes 0")
	same := mustApply(t, &a, &orchpb.AssignmentSet{Seq: 3, Digest: 12, Delta: true}, "assignments [r2 r3] peers [b c] volumes 0")
	if same != prev {
		t.Error("a keepalive made a new set")
	}
	mustApply(t, &a, &orchpb.AssignmentSet{Seq: 4, Digest: 13, Delta: true, PeersRemoved: []string{"b"},
		Volumes: []*orchpb.Volume{{Name: "data"}}, VolumesListed: true}, "assignments [r2 r3] peers [c] volumes 1")
	if describeSet(prev) != "assignments [r2 r3] peers [b c] volumes 0" {
		t.Errorf("a delta changed the set handed out before it: %s", describeSet(prev))
	}
	if since := a.begin(); since != 13 {
		t.Fatalf("the next stream begins from %016x, want the last digest 13", since)
	}
	// A resumed stream: an empty first delta on the digest held.
	mustApply(t, &a, &orchpb.AssignmentSet{Seq: 1, Digest: 13, Delta: true}, "assignments [r2 r3] peers [c] volumes 1")
}

// TestSetAssemblerResyncs: a gap, a reordering, a resume on a set the node
// does not hold, or a change before any whole set each fail the stream
// and make the next one begin from the whole set.
func TestSetAssemblerResyncs(t *testing.T) {
	whole := &orchpb.AssignmentSet{Seq: 1, Digest: 7, Assignments: []*orchpb.Assignment{asg("r1")}}
	for _, tc := range []struct {
		name string
		msgs []*orchpb.AssignmentSet
	}{
		{"gap", []*orchpb.AssignmentSet{whole, {Seq: 3, Delta: true, Digest: 8}}},
		{"reordering", []*orchpb.AssignmentSet{whole, {Seq: 3, Delta: true, Digest: 9}, {Seq: 2, Delta: true, Digest: 8}}},
		{"repeat", []*orchpb.AssignmentSet{whole, whole}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a setAssembler
			a.begin()
			var err error
			for _, m := range tc.msgs {
				if _, err = a.apply(m); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), "out of sequence") {
				t.Fatalf("error %v, want out of sequence", err)
			}
			if since := a.begin(); since != 0 {
				t.Fatalf("after a gap the next stream begins from %016x, want the whole set", since)
			}
		})
	}
	t.Run("resume on another set", func(t *testing.T) {
		var a setAssembler
		a.begin()
		mustApply(t, &a, whole, "assignments [r1] peers [] volumes 0")
		a.begin()
		if _, err := a.apply(&orchpb.AssignmentSet{Seq: 1, Delta: true, Digest: 99}); err == nil {
			t.Fatal("a resume on a set the node does not hold was taken")
		}
		if since := a.begin(); since != 0 {
			t.Fatalf("after a failed resume the next stream begins from %016x", since)
		}
	})
	t.Run("change before a whole set", func(t *testing.T) {
		var a setAssembler
		a.begin()
		if _, err := a.apply(&orchpb.AssignmentSet{Seq: 1, Delta: true, Digest: 5, Assignments: []*orchpb.Assignment{asg("r1")}}); err == nil {
			t.Fatal("a delta with nothing to apply it to was taken")
		}
	})
}
