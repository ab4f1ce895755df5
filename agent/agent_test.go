package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// fakeMaster speaks the masters' side of the agent channel: it pins a CA,
// registers node n1, streams the set the test gives it and keeps every
// status report.
type fakeMaster struct {
	ca    *pki.CA
	token string
	srv   *httptest.Server

	mu        sync.Mutex
	set       *orchpb.AssignmentSet
	reports   []map[string]*orchpb.ReplicaStatus
	next      int // the first report awaitReport has not looked at
	agentAddr string
	// renewals counts registrations made with the node's certificate and
	// no token; reportCert is the client certificate of the last report.
	renewals   int
	reportCert *x509.Certificate
}

func newFakeMaster(t *testing.T) *fakeMaster { return newFakeMasterLifetime(t, 0) }

// newFakeMasterLifetime is a fake master whose CA signs node certificates
// valid for life (0: the default).
func newFakeMasterLifetime(t *testing.T, life time.Duration) *fakeMaster {
	t.Helper()
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	ca.SetLeafLifetime(life)
	cert, err := ca.IssueMaster([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeMaster{ca: ca, token: pki.TokenPrefix + ca.Digest() + "-agent-secret", set: &orchpb.AssignmentSet{NodeId: "n1"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ca", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(ca.CertPEM()) })
	mux.HandleFunc("POST /v1/agent/register", m.register)
	mux.HandleFunc("GET /v1/agent/nodes/n1/assignments", asNode(m.assignments))
	mux.HandleFunc("POST /v1/agent/nodes/n1/status", asNode(m.status))
	m.srv = httptest.NewUnstartedServer(mux)
	m.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: ca.Pool()}
	m.srv.StartTLS()
	t.Cleanup(m.srv.Close)
	return m
}

func (m *fakeMaster) register(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var reg orchpb.NodeRegistration
	if err := protojson.Unmarshal(body, &reg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := pki.NodeIdentity{Name: reg.GetName(), ID: "n1"}
	certPEM, err := m.ca.SignNodeClient([]byte(reg.GetCsrPem()), id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	serverPEM, err := m.ca.SignNodeServer([]byte(reg.GetCsrPem()), id, []string{reg.GetAddress()})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m.mu.Lock()
	m.agentAddr = reg.GetAgentAddress()
	if _, ok := pki.PeerNode(r.TLS); ok && r.Header.Get("Authorization") == "" {
		m.renewals++
	}
	m.mu.Unlock()
	out, _ := protojson.Marshal(&orchpb.NodeRegistrationResponse{
		Node:                 &orchpb.Node{Id: "n1", Name: reg.GetName(), Subnet: "10.244.1.0/24"},
		CertificatePem:       string(certPEM),
		ServerCertificatePem: string(serverPEM),
		ClusterCidr:          "10.244.0.0/16",
	})
	_, _ = w.Write(out)
}

// asNode lets through only calls that present node n1's client
// certificate and no bearer token, as the masters' node authorizer wants.
func asNode(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if id, ok := pki.PeerNode(r.TLS); !ok || id.ID != "n1" || r.Header.Get("Authorization") != "" {
			http.Error(w, "want node n1's certificate and no token", http.StatusForbidden)
			return
		}
		h(w, r)
	}
}

// assignments sends the current set every 20ms, as keepalive and news.
func (m *fakeMaster) assignments(w http.ResponseWriter, r *http.Request) {
	for {
		m.mu.Lock()
		set := m.set
		m.mu.Unlock()
		if _, err := protodelim.MarshalTo(w, set); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (m *fakeMaster) status(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var rep orchpb.StatusReport
	if err := proto.Unmarshal(body, &rep); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// A report carries only what changed: what the master knows after it
	// is the last view with the report's statuses, as in the store.
	byID := map[string]*orchpb.ReplicaStatus{}
	if n := len(m.reports); n > 0 {
		maps.Copy(byID, m.reports[n-1])
	}
	for _, st := range rep.GetStatuses() {
		byID[st.GetId()] = st
	}
	m.reports = append(m.reports, byID)
	m.reportCert = r.TLS.PeerCertificates[0]
}

func (m *fakeMaster) assign(asgs ...*orchpb.Assignment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set = &orchpb.AssignmentSet{NodeId: "n1", Assignments: asgs}
}

// awaitReport waits for a report that satisfies cond, later than the one
// the last awaitReport returned: a state reported once (a stopped replica)
// cannot be missed however slowly the test looks.
func (m *fakeMaster) awaitReport(t *testing.T, what string, cond func(map[string]*orchpb.ReplicaStatus) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m.mu.Lock()
		for ; m.next < len(m.reports); m.next++ {
			if cond(m.reports[m.next]) {
				m.next++
				m.mu.Unlock()
				return
			}
		}
		var last map[string]*orchpb.ReplicaStatus
		if len(m.reports) > 0 {
			last = m.reports[len(m.reports)-1]
		}
		m.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for a report with %s; last %v", what, last)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// skipReports makes awaitReport look only at reports still to come.
func (m *fakeMaster) skipReports() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next = len(m.reports)
}

// listingRuntime is fakeRuntime with the containers it made listed, as a
// restarted agent finds them.
type listingRuntime struct {
	*fakeRuntime
	mu      sync.Mutex
	created map[string]bool
}

func (l *listingRuntime) Create(_ context.Context, c runtime.ContainerConfig) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.created[c.ID] = true
	return nil
}

func (l *listingRuntime) Delete(_ context.Context, id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.created, id)
	return nil
}

func (l *listingRuntime) List(context.Context) ([]runtime.ContainerInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []runtime.ContainerInfo
	for id := range l.created {
		out = append(out, runtime.ContainerInfo{ID: id, TaskStatus: "running"})
	}
	return out, nil
}

// plainNet is a Network of fakeNet attachments.
type plainNet struct{ fakeNet }

func (plainNet) Attached() []string { return nil }

// startAgent runs an agent of node1 against m until the returned stop,
// or the test's end (before m closes: its streams would hold it open).
func startAgent(t *testing.T, m *fakeMaster, dir string, rt runtime.Runtime) (stop func()) {
	t.Helper()
	a, err := New(Config{
		DataDir: dir, Masters: []string{m.srv.URL}, Token: m.token, Name: "node1",
		Address: "127.0.0.1", ListenAddr: "127.0.0.1:0", Runtime: rt,
		Network:           func(netip.Prefix) (Network, error) { return plainNet{}, nil },
		HeartbeatInterval: 50 * time.Millisecond,
		Logger:            slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// readOutput reads a replica's output from the agent's endpoint, as a
// master does.
func readOutput(t *testing.T, m *fakeMaster, id string) string {
	t.Helper()
	cert, err := m.ca.IssueMaster(nil)
	if err != nil {
		t.Fatal(err)
	}
	// The master checks that the agent's certificate names the node it
	// meant to call.
	tc := &tls.Config{RootCAs: m.ca.Pool(), Certificates: []tls.Certificate{cert},
		VerifyConnection: pki.CheckServerIsNode(pki.NodeIdentity{Name: "node1", ID: "n1"})}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	defer c.CloseIdleConnections()
	m.mu.Lock()
	addr := m.agentAddr
	m.mu.Unlock()
	resp, err := c.Get("https://" + addr + "/v1/logs/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// TestAgentRunsWhatTheMasterAssigns runs the whole agent (join, stream,
// workers, reports, its endpoint, restart with adoption) against an
// in-memory master, so its goroutines meet under the race detector.
func TestAgentRunsWhatTheMasterAssigns(t *testing.T) {
	m := newFakeMaster(t)
	rt := &listingRuntime{fakeRuntime: newFakeRuntime(), created: map[string]bool{}}
	dir := t.TempDir()
	stop := startAgent(t, m, dir, rt)
	m.assign(plainAssignment("r1"), plainAssignment("r2"))
	m.awaitReport(t, "r1 and r2 running", func(rep map[string]*orchpb.ReplicaStatus) bool {
		return rep["r1"].Observed() == orchpb.ReplicaRunning && rep["r2"].Observed() == orchpb.ReplicaRunning
	})

	out := filepath.Join(dir, "logs", "r1.log")
	if err := os.WriteFile(out, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := readOutput(t, m, "r1"); got != "hello\n" {
		t.Errorf("output of r1 from the agent: %q", got)
	}

	m.assign(plainAssignment("r1"))
	m.awaitReport(t, "r2 stopped", func(rep map[string]*orchpb.ReplicaStatus) bool {
		return rep["r2"].Observed() == orchpb.ReplicaStopped
	})
	stop()

	// A restarted agent comes back from its data dir and adopts r1's
	// container instead of starting another.
	m.skipReports()
	startAgent(t, m, dir, rt)
	m.awaitReport(t, "r1 running after the restart", func(rep map[string]*orchpb.ReplicaStatus) bool {
		return rep["r1"].Observed() == orchpb.ReplicaRunning
	})
	if starts, _ := rt.counts("r1"); starts != 1 {
		t.Errorf("r1 started %d times, want once (adopted after the restart)", starts)
	}
	if infos, _ := rt.List(context.Background()); len(infos) != 1 || infos[0].ID != "r1" {
		t.Errorf("containers %+v, want r1 alone", infos)
	}
}
