package store

import (
	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
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
