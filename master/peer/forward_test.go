package peer

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orch-io/orch/pki"

	"github.com/orch-io/orch/api"
)

// fakeLeader is another master's API: it records what reached it.
type fakeLeader struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	method, path, auth, forwarded, body string
	clientCert                          bool
}

func newFakeLeader(t *testing.T, ca *pki.CA) *fakeLeader {
	t.Helper()
	cert, err := ca.IssueMaster([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	l := &fakeLeader{}
	l.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		l.mu.Lock()
		l.seen = append(l.seen, seenRequest{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get(HeaderForwarded), string(body), len(r.TLS.PeerCertificates) > 0})
		l.mu.Unlock()
		w.Header().Set(api.HeaderIndex, "42")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("from leader"))
	}))
	l.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert}
	l.srv.StartTLS()
	t.Cleanup(l.srv.Close)
	return l
}

func (l *fakeLeader) requests() []seenRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]seenRequest(nil), l.seen...)
}

// leaderVar is a LeaderFunc the test can change under the forwarder.
type leaderVar struct {
	mu       sync.Mutex
	url      string
	self, ok bool
}

func (v *leaderVar) set(url string, self, ok bool) {
	v.mu.Lock()
	v.url, v.self, v.ok = url, self, ok
	v.mu.Unlock()
}

func (v *leaderVar) get() (string, bool, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.url, v.self, v.ok
}

type localAPI struct{ hits atomic.Int32 }

func (l *localAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.hits.Add(1)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("local"))
}

func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "https://" + addr
}

// forwardStep is one request through a Forwarder: where the leader is
// at the start and, with later, where it is 150ms into the request, and
// how the request must end.
type forwardStep struct {
	name       string
	method     string
	header     map[string]string
	leader     func(v *leaderVar)
	later      func(v *leaderVar) // runs 150ms into the request
	wantStatus int
	wantBody   string
	wantLocal  bool
	wantRemote bool
	maxTime    time.Duration
}

func TestForwarder(t *testing.T) {
	ca, _ := pki.NewCA()
	stranger, _ := pki.NewCA()
	leader := newFakeLeader(t, ca)
	impostor := newFakeLeader(t, stranger)
	dead := deadAddr(t)

	steps := []forwardStep{
		{name: "read stays local", method: "GET", leader: func(v *leaderVar) { v.set(leader.srv.URL, false, true) }, wantStatus: 200, wantBody: "local", wantLocal: true},
		{name: "write on the leader stays local", method: "PUT", leader: func(v *leaderVar) { v.set("", true, true) }, wantStatus: 200, wantBody: "local", wantLocal: true},
		{name: "write on a follower goes to the leader", method: "PUT", leader: func(v *leaderVar) { v.set(leader.srv.URL, false, true) }, wantStatus: 201, wantBody: "from leader", wantRemote: true},
		{name: "forwarded once is never forwarded again", method: "POST", header: map[string]string{HeaderForwarded: "1"}, leader: func(v *leaderVar) { v.set(leader.srv.URL, false, true) }, wantStatus: 200, wantLocal: true, wantBody: "local"},
		{name: "an upgrade (exec) stays local", method: "POST", header: map[string]string{"Upgrade": "orch-exec/1", "Connection": "Upgrade"}, leader: func(v *leaderVar) { v.set(leader.srv.URL, false, true) }, wantStatus: 200, wantLocal: true, wantBody: "local"},
		{name: "no leader: 503 after the wait", method: "DELETE", leader: func(v *leaderVar) { v.set("", false, false) }, wantStatus: 503, wantBody: "no leader", maxTime: 3 * time.Second},
		{name: "dead leader: 503 after the wait", method: "POST", leader: func(v *leaderVar) { v.set(dead, false, true) }, wantStatus: 503, wantBody: "unreachable", maxTime: 3 * time.Second},
		{name: "dead leader replaced within the wait", method: "POST", leader: func(v *leaderVar) { v.set(dead, false, true) }, later: func(v *leaderVar) { v.set(leader.srv.URL, false, true) }, wantStatus: 201, wantBody: "from leader", wantRemote: true},
		{name: "no leader, then one", method: "POST", leader: func(v *leaderVar) { v.set("", false, false) }, later: func(v *leaderVar) { v.set(leader.srv.URL, false, true) }, wantStatus: 201, wantRemote: true},
		{name: "a leader with another CA's certificate is not trusted", method: "POST", leader: func(v *leaderVar) { v.set(impostor.srv.URL, false, true) }, wantStatus: 503, wantBody: "may or may not"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) { s.run(t, ca, leader) })
	}
}

// run sends the step's request through a new Forwarder in front of a
// local API, with leader as the real leader, and checks who answered and
// what the leader saw.
func (s forwardStep) run(t *testing.T, ca *pki.CA, leader *fakeLeader) {
	v := &leaderVar{}
	s.leader(v)
	local := &localAPI{}
	f := NewForwarder(ForwarderDeps{Local: local, Leader: v.get, CA: ca, Wait: 600 * time.Millisecond})
	srv := httptest.NewServer(f)
	defer srv.Close()
	before := len(leader.requests())
	if s.later != nil {
		time.AfterFunc(150*time.Millisecond, func() { s.later(v) })
	}
	req, _ := http.NewRequest(s.method, srv.URL+"/v1/things/x?stale=false", strings.NewReader("payload"))
	req.Header.Set("Authorization", "Bearer user-token")
	for k, val := range s.header {
		req.Header.Set(k, val)
	}
	start := time.Now()
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != s.wantStatus || !strings.Contains(string(body), s.wantBody) {
		t.Fatalf("got %d %q, want %d containing %q", resp.StatusCode, body, s.wantStatus, s.wantBody)
	}
	if s.maxTime > 0 && time.Since(start) > s.maxTime {
		t.Errorf("answered after %s, want at most %s", time.Since(start), s.maxTime)
	}
	if got := local.hits.Load() > 0; got != s.wantLocal {
		t.Errorf("served locally: %v, want %v", got, s.wantLocal)
	}
	reqs := leader.requests()[before:]
	if (len(reqs) > 0) != s.wantRemote {
		t.Fatalf("leader saw %d requests, want remote %v", len(reqs), s.wantRemote)
	}
	if s.wantRemote {
		got := reqs[0]
		if got.method != s.method || got.path != "/v1/things/x?stale=false" || got.auth != "Bearer user-token" || got.forwarded != "1" || got.body != "payload" {
			t.Errorf("leader saw %+v", got)
		}
		if got.clientCert {
			t.Error("the forwarder presented a certificate: the leader would authorize the master, not the caller")
		}
		if resp.Header.Get(api.HeaderIndex) != "42" {
			t.Errorf("index header %q not passed back", resp.Header.Get(api.HeaderIndex))
		}
	}
}

// TestForwarderAnswersAMastersOwnCall: a master that calls a follower on
// its own authority (a heartbeat relay to a leader that has moved) is
// told no leader is there, not forwarded without its certificate to be
// refused as unauthenticated; a user's write is still forwarded.
func TestForwarderAnswersAMastersOwnCall(t *testing.T) {
	ca, _ := pki.NewCA()
	leader := newFakeLeader(t, ca)
	v := &leaderVar{}
	v.set(leader.srv.URL, false, true)
	local := &localAPI{}
	srvCert, err := ca.IssueMaster([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(NewForwarder(ForwarderDeps{Local: local, Leader: v.get, CA: ca, Wait: 600 * time.Millisecond}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: ca.Pool()}
	srv.StartTLS()
	defer srv.Close()
	callerCert, err := ca.IssueMaster([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.MasterClientTLS(pki.NewLiveCert(callerCert))}}
	post := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+PathBeats, strings.NewReader(`{"nodes":["n1"]}`))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := post(""); code != http.StatusServiceUnavailable || !strings.Contains(body, api.CodeNoLeader) {
		t.Errorf("a master's own call at a follower: %d %s, want 503 %s", code, body, api.CodeNoLeader)
	}
	if n := len(leader.requests()); n != 0 {
		t.Errorf("the leader saw %d requests, want none", n)
	}
	if code, _ := post("user-token"); code != http.StatusCreated {
		t.Errorf("a write with a token from a master's connection: %d, want it forwarded (201)", code)
	}
	if local.hits.Load() != 0 {
		t.Error("served locally")
	}
}
