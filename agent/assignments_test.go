package agent

import (
	"testing"

	"google.golang.org/protobuf/proto"

	orchpb "github.com/orch-io/orch/proto"
)

// TestSameAssignments: a resent set read at a later store index is the
// same set (nothing to save again); any change of replicas, specs or peers
// is not.
func TestSameAssignments(t *testing.T) {
	base := &orchpb.AssignmentSet{
		Index:       7,
		NodeId:      "n1",
		Assignments: []*orchpb.Assignment{assignment("r1", orchpb.RestartAlways, 8080)},
		Peers:       []*orchpb.Node{{Id: "n2", Address: "192.168.0.2", Subnet: "10.244.1.0/24", State: string(orchpb.NodeReady)}},
	}
	changed := func(f func(s *orchpb.AssignmentSet)) *orchpb.AssignmentSet {
		s := proto.Clone(base).(*orchpb.AssignmentSet)
		f(s)
		return s
	}
	if !sameAssignments(base, changed(func(s *orchpb.AssignmentSet) { s.Index = 9 })) {
		t.Error("a resend at a later index differs")
	}
	for name, s := range map[string]*orchpb.AssignmentSet{
		"replica added": changed(func(s *orchpb.AssignmentSet) {
			s.Assignments = append(s.Assignments, assignment("r2", orchpb.RestartAlways, 8080))
		}),
		"spec changed": changed(func(s *orchpb.AssignmentSet) { s.Assignments[0].Spec.Image = "orch.local/hello:2" }),
		"peer is down": changed(func(s *orchpb.AssignmentSet) { s.Peers[0].SetStatus(orchpb.NodeDown) }),
		"peer left":    changed(func(s *orchpb.AssignmentSet) { s.Peers = nil }),
		"another node": changed(func(s *orchpb.AssignmentSet) { s.NodeId = "n3" }),
	} {
		if sameAssignments(base, s) {
			t.Errorf("%s: reported the same", name)
		}
	}
}
