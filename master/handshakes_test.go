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
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/orch-io/orch/pki"
)

// gatedServer serves HTTPS on loopback with gate in front of its
// handshakes, as the master's API server does.
func gatedServer(t *testing.T, gate *handshakeGate) (addr string, pool *tls.Config) {
	t.Helper()
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer("orch-test", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	perClient := func(*tls.ClientHelloInfo) (*tls.Config, error) {
		// As the master's: the handshake then waits for the client's
		// certificate (or its absence) before it completes.
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: ca.Pool()}, nil
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
	return ln.Addr().String(), &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
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
	addr, client := gatedServer(t, gate)
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

// TestHandshakeGateSlotComesBackFromAStalledClient: a client that sends
// its ClientHello and then nothing holds its slot for the lease at most,
// and one that hangs up gives it back at once.
func TestHandshakeGateSlotComesBackFromAStalledClient(t *testing.T) {
	gate := newHandshakeGate(1, 300*time.Millisecond, time.Minute)
	addr, client := gatedServer(t, gate)

	stall := func() net.Conn {
		raw, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		// A real ClientHello, then silence: the TLS client's first
		// write, cut off from its reads.
		go func() { _ = tls.Client(&writeOnly{raw}, client).Handshake() }()
		waitFor(t, "the stalled client to hold the slot", func() bool { return heldSlots(gate) == 1 })
		return raw
	}
	raw := stall()
	defer raw.Close()
	conn, err := tls.Dial("tcp", addr, client)
	if err != nil {
		t.Fatalf("a handshake behind a stalled one: %v", err)
	}
	conn.Close()

	waitFor(t, "the slot back", func() bool { return heldSlots(gate) == 0 })
	gate.lease = time.Hour
	raw2 := stall()
	raw2.Close()
	waitFor(t, "the slot back from a client that hung up", func() bool { return heldSlots(gate) == 0 })
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
