package master

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A fleet reconnecting at once (the agents of a master that died, every
// agent after a partition heals) opens thousands of TLS handshakes on the
// masters left. Each is a goroutine with a millisecond of key exchange,
// signing and certificate checking to do, and all of them runnable
// together put everything else the master runs behind them: Raft's
// answers and elections, the streams' keepalives. A survivor of a leader
// kill at 2,000 nodes took a second to answer a vote while the dead
// leader's 667 agents reconnected to it.
//
// handshakeGate admits a bounded number of handshakes at a time. A
// handshake takes its slot once its ClientHello has arrived (a silent
// client never holds one) and gives it back once the master has signed
// its part (the key exchange and the signature are the work; what follows
// is mostly waiting for the client's answer, which a slot must not cover,
// or a distant fleet would reconnect one round trip per slot at a time).
// A handshake that never gets there (resumed, or failed) gives it back
// when it completes (the config's VerifyConnection), when its connection
// closes, or after handshakeLease in any case, so that no slot can leak.
// The others wait, not runnable, for at most handshakeQueueLimit; past
// that the handshake fails at once and the client tries again later,
// instead of this master finishing the handshake of a client that gave up
// on it long ago.
type handshakeGate struct {
	slots   chan struct{}
	lease   time.Duration
	queue   time.Duration
	mu      sync.Mutex
	held    map[net.Conn]*handshakeSlot
	waiting prometheus.Gauge
	shed    prometheus.Counter
}

const (
	// handshakeLease bounds how long one handshake holds its slot: the
	// master's part is a few milliseconds, and only a handshake that
	// never signs (resumed, failed, or sent back for another
	// ClientHello) can hold it longer.
	handshakeLease = 200 * time.Millisecond
	// handshakeQueueLimit is how long a handshake waits for a slot: under
	// the agents' 10 s handshake timeout, so that the master does not
	// spend its work on a client already gone.
	handshakeQueueLimit = 5 * time.Second
)

// handshakeSlots is how many handshakes compute at once: a few per core,
// enough to keep the cores busy while some slot holders wait for the
// scheduler or a second ClientHello, few enough to keep the run queue
// short.
func handshakeSlots() int { return 8 * runtime.GOMAXPROCS(0) }

var errHandshakeQueueFull = errors.New("master: too many TLS handshakes waiting; try again")

func newHandshakeGate(slots int, lease, queue time.Duration) *handshakeGate {
	return &handshakeGate{
		slots: make(chan struct{}, slots),
		lease: lease,
		queue: queue,
		held:  map[net.Conn]*handshakeSlot{},
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "orch_api_tls_handshakes_waiting",
			Help: "TLS handshakes on the API port waiting for a slot (at most a few per core compute at once).",
		}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orch_api_tls_handshakes_shed_total",
			Help: "TLS handshakes on the API port that waited too long for a slot and were refused (the client tries again).",
		}),
	}
}

// handshakeSlot is one admitted handshake's slot.
type handshakeSlot struct {
	gate  *handshakeGate
	conn  net.Conn
	once  sync.Once
	timer *time.Timer // under gate.mu
}

// release gives the slot back; only the first call counts.
func (s *handshakeSlot) release() {
	s.once.Do(func() {
		g := s.gate
		g.mu.Lock()
		if g.held[s.conn] == s {
			delete(g.held, s.conn)
		}
		timer := s.timer
		g.mu.Unlock()
		timer.Stop()
		<-g.slots
	})
}

// admit waits for a slot for the handshake of conn, until ctx ends or the
// queue limit passes.
func (g *handshakeGate) admit(ctx context.Context, conn net.Conn) (*handshakeSlot, error) {
	select {
	case g.slots <- struct{}{}:
	default:
		g.waiting.Inc()
		timer := time.NewTimer(g.queue)
		select {
		case g.slots <- struct{}{}:
		case <-ctx.Done():
			g.waiting.Dec()
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
			g.waiting.Dec()
			g.shed.Inc()
			return nil, errHandshakeQueueFull
		}
		g.waiting.Dec()
		timer.Stop()
	}
	s := &handshakeSlot{gate: g, conn: conn}
	g.mu.Lock()
	g.held[conn] = s
	// Under the lock: a lease that ends at once releases only once the
	// slot is fully recorded.
	s.timer = time.AfterFunc(g.lease, s.release)
	g.mu.Unlock()
	return s, nil
}

// connState is the API server's ConnState hook: a connection that closed
// or was taken over gives back the slot of a handshake that never
// completed.
func (g *handshakeGate) connState(c net.Conn, state http.ConnState) {
	if state != http.StateClosed && state != http.StateHijacked {
		return
	}
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	g.mu.Lock()
	s := g.held[c]
	g.mu.Unlock()
	if s != nil {
		s.release()
	}
}

// gated wraps a GetConfigForClient: the handshake waits for a slot, and
// the config it answers gives the slot back when the handshake completes.
func (g *handshakeGate) gated(next func(*tls.ClientHelloInfo) (*tls.Config, error)) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		slot, err := g.admit(hello.Context(), hello.Conn)
		if err != nil {
			return nil, err
		}
		cfg, err := next(hello)
		if err != nil || cfg == nil {
			slot.release()
			return cfg, err
		}
		if get := cfg.GetCertificate; get != nil {
			cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
				cert, err := get(hello)
				if err != nil || cert == nil {
					return cert, err
				}
				signer, ok := cert.PrivateKey.(crypto.Signer)
				if !ok {
					return cert, nil
				}
				signing := *cert
				signing.PrivateKey = releasingSigner{Signer: signer, release: slot.release}
				return &signing, nil
			}
		}
		verify := cfg.VerifyConnection
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			slot.release()
			if verify != nil {
				return verify(cs)
			}
			return nil
		}
		return cfg, nil
	}
}

// releasingSigner gives a handshake's slot back once it has signed.
type releasingSigner struct {
	crypto.Signer
	release func()
}

func (s releasingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	defer s.release()
	return s.Signer.Sign(rand, digest, opts)
}
