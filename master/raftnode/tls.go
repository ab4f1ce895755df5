package raftnode

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// tlsStreamLayer carries Raft over mutual TLS: every connection, in either
// direction, proves both ends are masters of the cluster (the configs come
// from package pki and verify the peer's certificate).
type tlsStreamLayer struct {
	net.Listener // plain TCP; Accept wraps each connection
	server       *tls.Config
	advertise    net.Addr
	client       *tls.Config
	// handshakeTimeout bounds an accepted connection's handshake.
	handshakeTimeout time.Duration
}

// handshakeTimeout is how long an accepted peer has to complete the TLS
// handshake. Masters on one network finish in milliseconds; a connection
// that says nothing (a port scan, a half-open socket, a slowloris) would
// otherwise hold a goroutine and a file descriptor for ever.
const handshakeTimeout = 5 * time.Second

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
	return &tlsStreamLayer{Listener: ln, server: versionedServer(server), advertise: adv, client: versionedClient(client), handshakeTimeout: handshakeTimeout}, nil
}

func (l *tlsStreamLayer) Addr() net.Addr { return l.advertise }

// Accept returns at once, without handshaking: raft's transport accepts in
// one loop and serves each connection in its own goroutine, so the
// handshake (with its deadline) happens there, on the first read or write,
// and a silent peer never holds up the next accept.
func (l *tlsStreamLayer) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &deadlineHandshake{Conn: tls.Server(c, l.server), timeout: l.handshakeTimeout}, nil
}

// deadlineHandshake is a server-side TLS connection whose handshake must
// finish within timeout; after it, reads and writes have no deadline (raft
// keeps idle connections to its peers).
type deadlineHandshake struct {
	*tls.Conn
	timeout time.Duration
	once    sync.Once
	err     error
}

func (c *deadlineHandshake) handshake() error {
	c.once.Do(func() {
		_ = c.Conn.SetDeadline(time.Now().Add(c.timeout))
		if c.err = c.Conn.Handshake(); c.err != nil {
			c.Conn.Close()
			// A peer that hung up before saying anything (a follower's
			// probe of this leader, failover.go) ends the connection
			// as raft's transport expects a closed one to: io.EOF,
			// which it does not log.
			if c.err != io.EOF {
				c.err = fmt.Errorf("raftnode: TLS handshake with %s: %w", c.RemoteAddr(), c.err)
			}
			return
		}
		_ = c.Conn.SetDeadline(time.Time{})
	})
	return c.err
}

func (c *deadlineHandshake) Read(p []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *deadlineHandshake) Write(p []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// Dial connects and completes the handshake, so a peer that is not a master
// fails here rather than on raft's first read. The dialer's timeout covers
// the handshake too, so a listener that never answers it cannot hold the
// caller either.
func (l *tlsStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	return tls.DialWithDialer(d, "tcp", string(address), l.client)
}
