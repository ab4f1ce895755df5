package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
)

// TestAdmitCommand: while a master of v0.1.0 is recorded, only the commands
// its FSM knows may be proposed; once it records this build's protocol,
// every command may.
func TestAdmitCommand(t *testing.T) {
	s := New()
	put := func(id, protocol string) {
		res := s.Apply(s.Index()+1, &orchpb.Command{Op: &orchpb.Command_PutMaster{PutMaster: &orchpb.PutMaster{
			Master: &orchpb.Master{Id: id, Protocol: protocol}}}})
		if res.GetErrorCode() != "" {
			t.Fatal(res.GetError())
		}
	}
	old := &orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{}}}
	newer := &orchpb.Command{Op: &orchpb.Command_MoveReplicas{MoveReplicas: &orchpb.MoveReplicas{}}}
	if s.AdmitCommand(newer) != nil {
		t.Fatal("no master recorded: a store of this build admits everything")
	}
	put("m1", api.ProtocolVersion.String())
	put("m2", "")
	if err := s.AdmitCommand(old); err != nil {
		t.Fatalf("a v0.1.0 command refused: %v", err)
	}
	err := s.AdmitCommand(newer)
	if !errors.Is(err, api.ErrVersionSkew) || !strings.Contains(err.Error(), "master m2 speaks 0.1") || !strings.Contains(err.Error(), "move_replicas") {
		t.Fatalf("a new command with a v0.1.0 master: %v", err)
	}
	put("m2", api.ProtocolVersion.String())
	if err := s.AdmitCommand(newer); err != nil {
		t.Fatalf("every master upgraded: %v", err)
	}
}
