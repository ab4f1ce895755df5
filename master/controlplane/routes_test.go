package controlplane

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/orch-io/orch/pki"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/backup"
	"github.com/orch-io/orch/master/peer"
	"github.com/orch-io/orch/master/raftnode"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// fakeRaft applies commands straight to a store and keeps a configuration.
type fakeRaft struct {
	mu      sync.Mutex
	st      *store.Store
	leader  bool
	servers []raftnode.Server
	added   []string
	removed []string
}

func (f *fakeRaft) Apply(_ context.Context, cmd *orchpb.Command) (*orchpb.CommandResult, error) {
	if !f.IsLeader() {
		return nil, raftnode.ErrNotLeader
	}
	return f.st.Apply(f.st.Index()+1, cmd), nil
}

func (f *fakeRaft) AddVoter(_ context.Context, id, addr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, id)
	for i, s := range f.servers {
		if s.ID == id {
			f.servers[i].Address = addr
			return nil
		}
	}
	f.servers = append(f.servers, raftnode.Server{ID: id, Address: addr, Role: "follower"})
	return nil
}

func (f *fakeRaft) RemoveServer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, id)
	for i, s := range f.servers {
		if s.ID == id {
			f.servers = append(f.servers[:i], f.servers[i+1:]...)
			break
		}
	}
	return nil
}

func (f *fakeRaft) Servers() ([]raftnode.Server, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]raftnode.Server(nil), f.servers...), nil
}

func (f *fakeRaft) VerifyLeader(context.Context) (uint64, error) {
	if !f.IsLeader() {
		return 0, raftnode.ErrNotLeader
	}
	return f.st.Index(), nil
}

func (f *fakeRaft) IsLeader() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leader
}

func (f *fakeRaft) Leader() (string, string) {
	if f.IsLeader() {
		return "m1", "127.0.0.1:7401"
	}
	return "", ""
}

func (f *fakeRaft) State() string {
	if f.IsLeader() {
		return "leader"
	}
	return "follower"
}

type fixture struct {
	raft *fakeRaft
	st   *store.Store
	ca   *pki.CA
	srv  *httptest.Server
	// server is the routes' server, for what is not a route.
	server *Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, nil)
}

// newFixtureWith is newFixture with deps changed by change (may be nil).
func newFixtureWith(t *testing.T, change func(*Deps)) *fixture {
	t.Helper()
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	st := store.New()
	f := &fixture{st: st, ca: ca, raft: &fakeRaft{st: st, leader: true, servers: []raftnode.Server{{ID: "m1", Address: "127.0.0.1:7401", Role: "leader"}}}}
	deps := Deps{Raft: f.raft, Store: st, CA: ca, Self: peer.Member{ID: "m1", RaftAddress: "127.0.0.1:7401", APIAddress: "https://127.0.0.1:7400"}}
	if change != nil {
		change(&deps)
	}
	s := New(deps)
	f.server = s
	mux := http.NewServeMux()
	for _, r := range s.Routes() {
		mux.HandleFunc(r.Pattern, r.Handler)
	}
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) call(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func TestMembership(t *testing.T) {
	f := newFixture(t)
	m2 := `{"id":"m2","raftAddress":"127.0.0.1:7411","apiAddress":"https://127.0.0.1:7410"}`
	steps := []struct {
		name         string
		leader       bool
		method, path string
		body         string
		wantStatus   int
		wantIn       string
	}{
		{"join", true, "POST", "/v1/cluster/members", m2, 200, `"id":"m2"`},
		{"join again changes nothing", true, "POST", "/v1/cluster/members", m2, 200, `"id":"m2"`},
		{"join without an id", true, "POST", "/v1/cluster/members", `{"raftAddress":"127.0.0.1:1","apiAddress":"https://x:1"}`, 400, "id:"},
		{"join with an undialable raft address", true, "POST", "/v1/cluster/members", `{"id":"m3","raftAddress":"0.0.0.0:7421","apiAddress":"https://127.0.0.1:7420"}`, 400, "raftAddress"},
		{"join with a plain http API", true, "POST", "/v1/cluster/members", `{"id":"m3","raftAddress":"127.0.0.1:7421","apiAddress":"http://127.0.0.1:7420"}`, 400, "apiAddress"},
		{"join with an unknown field", true, "POST", "/v1/cluster/members", `{"id":"m3","bogus":1}`, 400, "unknown field"},
		{"update a member's record", true, "PUT", "/v1/cluster/members/m2", `{"id":"m2","raftAddress":"127.0.0.1:7411","apiAddress":"https://127.0.0.1:7555"}`, 200, "7555"},
		{"a non-member cannot record itself", true, "PUT", "/v1/cluster/members/m9", `{"id":"m9","raftAddress":"127.0.0.1:7911","apiAddress":"https://127.0.0.1:7910"}`, 404, "not a member"},
		{"update with a mismatched id", true, "PUT", "/v1/cluster/members/m2", `{"id":"m3","raftAddress":"127.0.0.1:7411","apiAddress":"https://127.0.0.1:7410"}`, 400, "path"},
		{"a follower refuses to update", false, "PUT", "/v1/cluster/members/m2", `{"id":"m2","raftAddress":"127.0.0.1:7411","apiAddress":"https://127.0.0.1:7410"}`, 503, "no_leader"},
		{"remove unknown", true, "DELETE", "/v1/cluster/members/m9", "", 404, "not a member"},
		{"remove m2", true, "DELETE", "/v1/cluster/members/m2", "", 200, "m2"},
		{"the last member stays", true, "DELETE", "/v1/cluster/members/m1", "", 400, "only member"},
		{"read index on the leader", true, "GET", "/v1/cluster/readindex", "", 200, `"index"`},
		{"no read index from a follower", false, "GET", "/v1/cluster/readindex", "", 503, "no_leader"},
		{"self", true, "GET", "/v1/cluster/self", "", 200, `"role":"leader"`},
	}
	for _, s := range steps {
		f.raft.mu.Lock()
		f.raft.leader = s.leader
		f.raft.mu.Unlock()
		code, body := f.call(t, s.method, s.path, s.body)
		if code != s.wantStatus || !strings.Contains(body, s.wantIn) {
			t.Errorf("%s: %d %s, want %d containing %q", s.name, code, body, s.wantStatus, s.wantIn)
		}
	}
	if len(f.raft.added) != 1 || f.raft.added[0] != "m2" {
		t.Errorf("AddVoter calls: %v, want one for m2", f.raft.added)
	}
	if len(f.raft.removed) != 1 || f.st.Master("m2") != nil {
		t.Errorf("removal: RemoveServer %v, record %v", f.raft.removed, f.st.Master("m2"))
	}
}

func TestCredentialsTokensSnapshot(t *testing.T) {
	f := newFixture(t)
	code, body := f.call(t, "GET", "/v1/cluster/credentials", "")
	var creds peer.Credentials
	if code != 200 || json.Unmarshal([]byte(body), &creds) != nil {
		t.Fatalf("credentials: %d %s", code, body)
	}
	if ca, err := pki.ParseCA([]byte(creds.CACertPEM), []byte(creds.CAKeyPEM)); err != nil || ca.Digest() != f.ca.Digest() {
		t.Fatalf("credentials give another CA: %v", err)
	}

	code, body = f.call(t, "POST", "/v1/tokens", `{"role":"root"}`)
	if code != 400 || !strings.Contains(body, "role") {
		t.Errorf("bad role: %d %s", code, body)
	}
	code, body = f.call(t, "POST", "/v1/tokens", `{"role":"reader"}`)
	var tok api.Token
	if code != 201 || json.Unmarshal([]byte(body), &tok) != nil || tok.Role != "reader" {
		t.Fatalf("create token: %d %s", code, body)
	}
	// The token works against the replicated table, and carries the CA.
	if role, err := auth.NewTokens(f.st, nil).Authenticate(tok.Token); err != nil || role != auth.RoleReader {
		t.Fatalf("the new token authenticates as %q, %v", role, err)
	}
	if d, _ := pki.TokenCADigest(tok.Token); d != f.ca.Digest() {
		t.Errorf("token pins %s, want %s", d, f.ca.Digest())
	}

	req, _ := http.NewRequest("GET", f.srv.URL+"/v1/snapshot", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	snap, err := backup.Decode(data)
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("snapshot: %d %v %q", resp.StatusCode, err, data)
	}
	if !proto.Equal(snap, f.st.Snapshot()) || len(snap.GetTokens()) != 1 {
		t.Fatalf("snapshot %v differs from the store", snap)
	}
	if resp.Header.Get(api.HeaderIndex) == "" {
		t.Error("snapshot has no index header")
	}
}
