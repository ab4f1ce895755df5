package agent

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protodelim"
)

// beatMaster is an HTTP/2 master that counts the status requests and the
// bytes that come up the assignment stream; with takesBeats it answers
// the stream with the beats header.
type beatMaster struct {
	srv        *httptest.Server
	caPEM      []byte
	takesBeats bool
	posts      atomic.Int32
	beats      atomic.Int32
	bodyEnded  chan struct{}
	endOnce    sync.Once // a stream opened again ends too
}

func newBeatMaster(t *testing.T, takesBeats bool) *beatMaster {
	t.Helper()
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueMaster([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	m := &beatMaster{caPEM: ca.CertPEM(), takesBeats: takesBeats, bodyEnded: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/agent/nodes/n1/assignments", m.assignments)
	mux.HandleFunc("POST /v1/agent/nodes/n1/status", func(w http.ResponseWriter, _ *http.Request) {
		m.posts.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
	m.srv = httptest.NewUnstartedServer(mux)
	m.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	m.srv.EnableHTTP2 = true
	m.srv.StartTLS()
	t.Cleanup(m.srv.Close)
	return m
}

// assignments sends one set, then reads the body until it ends.
func (m *beatMaster) assignments(w http.ResponseWriter, r *http.Request) {
	if m.takesBeats {
		w.Header().Set(headerBeats, "stream")
	}
	if _, err := protodelim.MarshalTo(w, &orchpb.AssignmentSet{NodeId: "n1"}); err != nil {
		return
	}
	w.(http.Flusher).Flush()
	buf := make([]byte, 64)
	for {
		n, err := r.Body.Read(buf)
		m.beats.Add(int32(n))
		if err != nil {
			m.endOnce.Do(func() { close(m.bodyEnded) })
			<-r.Context().Done()
			return
		}
	}
}

// watch opens conn's assignment stream until the returned stop, and
// waits for its first set.
func watch(t *testing.T, conn *masterConn) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = conn.watchAssignments(ctx, "n1", false, func(*orchpb.AssignmentSet) {
			select {
			case first <- struct{}{}:
			default:
			}
		})
	}()
	select {
	case <-first:
	case <-time.After(5 * time.Second):
		t.Fatal("no set on the assignment stream")
	}
	return func() { cancel(); <-done }
}

// TestHeartbeatsRideTheStream: once a master says it takes beats up the
// assignment stream, the stream beats on its own clock, a byte each, and
// a report with nothing new is no request; a report with news, every report once the stream ended, and
// the first after it opened again, is a request.
func TestHeartbeatsRideTheStream(t *testing.T) {
	m := newBeatMaster(t, true)
	conn := newMasterConn([]string{m.srv.URL}, "t", mustTrust(t, m.caPEM))
	conn.beatEvery = 20 * time.Millisecond
	stop := watch(t, conn)
	ctx := context.Background()
	report := func(statuses ...*orchpb.ReplicaStatus) {
		t.Helper()
		if err := conn.reportStatus(ctx, &orchpb.StatusReport{NodeId: "n1", Statuses: statuses}); err != nil {
			t.Fatal(err)
		}
	}
	report() // the first report to a master is a full one
	if got := m.posts.Load(); got != 1 {
		t.Fatalf("the first report: %d requests, want 1", got)
	}
	for range 3 {
		report()
	}
	waitFor(t, 5*time.Second, "beats up the stream", func() *int32 {
		if n := m.beats.Load(); n >= 1 {
			return &n
		}
		return nil
	})
	if got := m.posts.Load(); got != 1 {
		t.Errorf("bare heartbeats made %d more requests, want none", got-1)
	}
	report(&orchpb.ReplicaStatus{Id: "r1", State: string(orchpb.ReplicaRunning)})
	if got := m.posts.Load(); got != 2 {
		t.Errorf("a report with news: %d requests in all, want 2", got)
	}
	stop()
	report()
	if got := m.posts.Load(); got != 3 {
		t.Errorf("a heartbeat with no stream open: %d requests in all, want 3", got)
	}
	// A stream opened again may be to a master that lost what it took
	// (restored): the next report is a full one, a request.
	defer watch(t, conn)()
	report()
	report()
	if got := m.posts.Load(); got != 4 {
		t.Errorf("after the stream opened again: %d requests in all, want 4 (one full report, then a beat)", got)
	}
}

// TestHeartbeatsWithAnOlderMaster: a master that does not answer the
// beats header gets the stream's body closed at once, and heartbeats as
// requests.
func TestHeartbeatsWithAnOlderMaster(t *testing.T) {
	m := newBeatMaster(t, false)
	conn := newMasterConn([]string{m.srv.URL}, "t", mustTrust(t, m.caPEM))
	stop := watch(t, conn)
	defer stop()
	select {
	case <-m.bodyEnded:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream's body stayed open at a master that does not take beats")
	}
	for range 3 {
		if err := conn.reportStatus(context.Background(), &orchpb.StatusReport{NodeId: "n1"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.posts.Load(); got != 3 {
		t.Errorf("%d requests for 3 heartbeats, want 3", got)
	}
}
