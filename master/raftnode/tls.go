package raftnode

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// tlsStreamLayer carries Raft over mutual TLS: every connection, in either
// direction, proves both ends are masters of the cluster (the configs come
// from package pki and verify the peer's certificate).
type tlsStreamLayer struct {
	net.Listener
	advertise net.Addr
	client    *tls.Config
}

var _ raft.StreamLayer = (*tlsStreamLayer)(nil)

// newTLSStreamLayer listens on bind with server and dials with client.
// advertise is the address other masters dial ("" = the listener's, which
// must then be a specific IP).
func newTLSStreamLayer(bind, advertise string, server, client *tls.Config) (*tlsStreamLayer, error) {
	if server == nil || client == nil {
		return nil, errors.New("raftnode: TLS needs both a server and a client config")
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("raftnode: listen on %s: %w", bind, err)
	}
	var adv net.Addr = ln.Addr()
	if advertise != "" {
		if adv, err = net.ResolveTCPAddr("tcp", advertise); err != nil {
			ln.Close()
			return nil, fmt.Errorf("raftnode: advertise address %q: %w", advertise, err)
		}
	}
	if tcp, ok := adv.(*net.TCPAddr); !ok || tcp.IP == nil || tcp.IP.IsUnspecified() {
		ln.Close()
		return nil, fmt.Errorf("raftnode: %s is not an address other masters can dial; set the advertise address", adv)
	}
	return &tlsStreamLayer{Listener: tls.NewListener(ln, server), advertise: adv, client: client}, nil
}

func (l *tlsStreamLayer) Addr() net.Addr { return l.advertise }

// Dial connects and completes the handshake, so a peer that is not a master
// fails here rather than on raft's first read.
func (l *tlsStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	return tls.DialWithDialer(d, "tcp", string(address), l.client)
}
