package master

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/orch-io/orch/pki"
)

// gatedServer serves HTTPS on loopback with gate in front of its
// handshakes, as the master's API server does.
// configs counts the handshakes admitted (each asks for its config).
func gatedServer(t *testing.T, gate *handshakeGate) (addr string, client *tls.Config, configs *atomic.Int64) {
	t.Helper()
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer("orch-test", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	configs = &atomic.Int64{}
	perClient := func(*tls.ClientHelloInfo) (*tls.Config, error) {
		configs.Add(1)
		// As the master's: the handshake then waits for the client's
		// certificate (or its absence) before it completes.
		return &tls.Config{
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil },
			MinVersion:     tls.VersionTLS12, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: ca.Pool(),
		}, nil
	}
	srv := newAPIServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		&tls.Config{GetConfigForClient: gate.gated(perClient)}, gate.connState, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeTLS(ln, "", "")
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln.Addr().String(), &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}, configs
}

// heldSlots is how many of g's slots are taken.
func heldSlots(g *handshakeGate) int { return len(g.slots) }

// valueOf reads a counter's or a gauge's value.
func valueOf(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetCounter().GetValue() + out.GetGauge().GetValue()
}

// TestHandshakeGateAdmitsEveryoneInTurn: more clients than slots all
// complete their handshakes, and every slot is back afterwards.
func TestHandshakeGateAdmitsEveryoneInTurn(t *testing.T) {
	gate := newHandshakeGate(2, time.Minute, time.Minute)
	addr, client, _ := gatedServer(t, gate)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := tls.Dial("tcp", addr, client)
			if err != nil {
				errs <- err
				return
			}
			conn.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("handshake: %v", err)
	}
	waitFor(t, "every slot back", func() bool { return heldSlots(gate) == 0 })
}

// TestHandshakeGateSlotIsTheMastersWorkOnly: a client that sends its
// ClientHello and then never answers does not keep the slot once the
// master has signed its part; a handshake that stalls before that keeps
// it for the lease at most.
func TestHandshakeGateSlotIsTheMastersWorkOnly(t *testing.T) {
	gate := newHandshakeGate(1, time.Hour, time.Minute)
	addr, client, admitted := gatedServer(t, gate)
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// A real ClientHello, then silence: the TLS client's first write,
	// cut off from its reads. ended closes when the master gives up on
	// the handshake (its 10 s deadline) and closes the connection.
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		_ = tls.Client(&writeOnly{raw}, client).Handshake()
	}()
	waitFor(t, "the stalled client's handshake to be admitted", func() bool { return admitted.Load() == 1 })
	waitFor(t, "its slot back", func() bool { return heldSlots(gate) == 0 })
	select {
	case <-ended:
		t.Fatal("the slot came back only when the master gave up the handshake, not when it had signed")
	default:
	}
	conn, err := tls.Dial("tcp", addr, client)
	if err != nil {
		t.Fatalf("a handshake behind a stalled one: %v", err)
	}
	conn.Close()

	// A slot taken and never signed with (as a handshake that fails
	// early): the lease, or the connection's end, gives it back.
	gate.lease = 100 * time.Millisecond
	if _, err := gate.admit(context.Background(), &net.TCPConn{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the slot back after its lease", func() bool { return heldSlots(gate) == 0 })
	gate.lease = time.Hour
	c := &net.TCPConn{}
	if _, err := gate.admit(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	gate.connState(c, http.StateClosed)
	if n := heldSlots(gate); n != 0 {
		t.Fatalf("%d slots held after the connection closed", n)
	}
}

// writeOnly passes writes through and blocks reads until the connection
// closes, so a TLS client sends its ClientHello and waits for ever.
type writeOnly struct{ net.Conn }

func (w *writeOnly) Read([]byte) (int, error) {
	var b [1]byte
	for {
		if _, err := w.Conn.Read(b[:]); err != nil {
			return 0, io.EOF
		}
	}
}

// TestHandshakeGateShedsPastTheQueueLimit: with the only slot held, a
// handshake that waits past the queue limit fails and is counted.
func TestHandshakeGateShedsPastTheQueueLimit(t *testing.T) {
	gate := newHandshakeGate(1, time.Hour, 200*time.Millisecond)
	held, err := gate.admit(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.release()
	if _, err := gate.admit(context.Background(), &net.TCPConn{}); !errors.Is(err, errHandshakeQueueFull) {
		t.Fatalf("admit with the only slot held: %v, want errHandshakeQueueFull", err)
	}
	if got := valueOf(t, gate.shed); got != 1 {
		t.Fatalf("shed = %v, want 1", got)
	}
	if got := valueOf(t, gate.waiting); got != 0 {
		t.Fatalf("waiting = %v, want 0 after the refusal", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := gate.admit(ctx, &net.TCPConn{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("admit with its handshake's context ended: %v", err)
	}
	held.release()
	held.release() // a second release gives back nothing more
	if n := heldSlots(gate); n != 0 {
		t.Fatalf("%d slots held after release", n)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
