package store

import (
	"fmt"
	"net/http"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// During a rolling upgrade old and new masters apply the same log. A
// command that changes meaning between versions would leave their states
// apart, so the FSM takes up new behaviour only once every recorded master
// says it speaks the protocol that brought it (Master.protocol, written
// through the log, so every master switches at the same index). A master
// of v0.1.0 records no protocol.

// MastersProtocol is the oldest protocol among the recorded masters, and
// which master speaks it ("" when no master is recorded: a store of tests,
// or one not yet bootstrapped, speaks this build's).
func (s *Store) MastersProtocol() (oldest api.Protocol, who string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mastersProtocol()
}

func (s *Store) mastersProtocol() (oldest api.Protocol, who string) {
	oldest = api.ProtocolVersion
	for id, m := range s.masters {
		p := masterProtocol(m)
		if p.Less(oldest) || (p == oldest && who != "" && id < who) {
			oldest, who = p, id
		}
	}
	return oldest, who
}

func masterProtocol(m *orchpb.Master) api.Protocol {
	p, err := api.ParseProtocol(m.GetProtocol())
	if err != nil {
		return api.ProtocolUnversioned
	}
	return p
}

// ProtocolCanary is the protocol that brought canary rollouts and rollbacks
// that keep the target generation's replicas.
var ProtocolCanary = api.Protocol{Major: 0, Minor: 2}

// speaks reports whether every master speaks p; under the store's lock.
func (s *Store) speaks(p api.Protocol) bool {
	oldest, _ := s.mastersProtocol()
	return !oldest.Less(p)
}

// commandsOfV01 are the Raft commands v0.1.0's FSM knows, by their field
// number in Command's oneof. It applies any other as an invalid command and
// moves on, so its state would leave the others'.
var commandsOfV01 = map[protoreflect.FieldNumber]bool{
	1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true, 10: true,
	11: true, 12: true, 13: true, 14: true, 20: true, 21: true, 22: true, 23: true, 24: true,
}

var commandOp = (&orchpb.Command{}).ProtoReflect().Descriptor().Oneofs().ByName("op")

// AdmitCommand says whether cmd may be proposed now. A command type v0.1.0
// did not know waits until every recorded master speaks this build's
// protocol: the refusal (an *api.Error, 409 version_skew) names the master
// still to upgrade. Every proposer on a master goes through it, so a new
// command type cannot reach an old follower by mistake.
func (s *Store) AdmitCommand(cmd *orchpb.Command) error {
	fd := cmd.ProtoReflect().WhichOneof(commandOp)
	if fd == nil || commandsOfV01[fd.Number()] {
		return nil
	}
	oldest, who := s.MastersProtocol()
	if !oldest.Less(api.ProtocolVersion) {
		return nil
	}
	return &api.Error{Code: api.CodeVersionSkew, Status: http.StatusConflict, Message: fmt.Sprintf(
		"%s needs every master at protocol %s, and master %s speaks %s: finish upgrading the masters first (docs/upgrading.md)",
		fd.Name(), api.ProtocolVersion, who, oldest)}
}
