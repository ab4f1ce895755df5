package raftnode

import (
	"crypto/tls"
	"strings"

	"github.com/orch-io/orch/api"
)

// The Raft channel carries the protocol version in TLS's application
// protocol negotiation (ALPN), since raft's own framing has no room for it:
// a dialing master offers "orch-raft/MAJOR.MINOR"; the accepting master
// answers it when it is inside its window and fails the handshake with the
// version-skew sentence otherwise. v0.1.0 offered nothing and ignores the
// offer, which both sides read as protocol 0.1.
const alpnPrefix = "orch-raft/"

// versionedClient offers this build's protocol.
func versionedClient(base *tls.Config) *tls.Config {
	c := base.Clone()
	c.NextProtos = []string{alpnPrefix + api.ProtocolVersion.String()}
	return c
}

// versionedServer refuses a dialer outside the window during the handshake.
func versionedServer(base *tls.Config) *tls.Config {
	s := base.Clone()
	prev := base.GetConfigForClient
	s.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		offered, err := offeredProtocol(hello.SupportedProtos)
		if err != nil {
			return nil, err
		}
		if err := api.CheckProtocol(api.ProtocolVersion, offered, "the master at "+hello.Conn.RemoteAddr().String()); err != nil {
			return nil, err
		}
		cfg := base
		if prev != nil {
			c, err := prev(hello)
			if err != nil {
				return nil, err
			}
			if c != nil {
				cfg = c
			}
		}
		if len(hello.SupportedProtos) == 0 {
			return cfg, nil
		}
		cfg = cfg.Clone()
		cfg.NextProtos = []string{alpnPrefix + offered.String()}
		return cfg, nil
	}
	return s
}

// offeredProtocol reads the dialer's offer; none is v0.1.0.
func offeredProtocol(protos []string) (api.Protocol, error) {
	for _, p := range protos {
		if v, ok := strings.CutPrefix(p, alpnPrefix); ok {
			return api.ParseProtocol(v)
		}
	}
	return api.ProtocolUnversioned, nil
}
