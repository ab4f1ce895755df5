package master

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/master/peer"
)

// TestNodeCannotImpersonateAMaster: a node's certificates, signed by the
// cluster CA and valid for the node's address, do not make a master. A
// server that presents one is refused by orchctl's client, by an agent's
// check and by another master.
func TestNodeCannotImpersonateAMaster(t *testing.T) {
	s := setupAttack(t)
	var gotToken bool
	for _, cert := range []tls.Certificate{s.a.server, s.a.client} {
		fake := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gotToken = gotToken || r.Header.Get("Authorization") != ""
			w.Header().Set("Content-Type", api.ContentTypeJSON)
			_, _ = w.Write([]byte("[]"))
		}))
		fake.Config.ErrorLog = log.New(io.Discard, "", 0)
		fake.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		fake.StartTLS()
		c, err := client.New(&client.Config{Server: fake.URL, Token: "an-admin-token", CA: string(s.m.CA().CertPEM())})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ListNodes(context.Background()); err == nil {
			t.Errorf("orchctl's client accepted a node's certificate as a master's")
		}
		// Another master checks its peers with MasterClientTLS.
		conn, err := tls.Dial("tcp", strings.TrimPrefix(fake.URL, "https://"), s.m.CA().MasterClientTLS(nil))
		if err == nil {
			conn.Close()
			t.Errorf("a master accepted a node's certificate as a peer master's")
		}
		fake.Close()
	}
	if gotToken {
		t.Error("a bearer token reached the impersonating node")
	}
}

// TestRemovedNodeCertificateIsDead: after `orchctl node remove`, the
// removed node's certificate neither acts for it nor registers it again,
// and does not act for a new node registered under the same name.
func TestRemovedNodeCertificateIsDead(t *testing.T) {
	s := setupAttack(t)
	ctx := context.Background()
	var refused *api.Error
	if err := s.admin.RemoveNode(ctx, "node-a", false); !errors.As(err, &refused) || refused.HTTPStatus() != http.StatusConflict {
		t.Fatalf("removing a ready node that holds a replica without --force: %v, want 409", err)
	}
	if err := s.admin.RemoveNode(ctx, "node-a", true); err != nil {
		t.Fatal(err)
	}
	old := credential{name: "removed node-a's certificate", cert: &s.a.client}
	if code, text := s.call(s.base, old, http.MethodGet, "/v1/agent/nodes/"+s.a.id+"/assignments", "", nil, nil); code != http.StatusNotFound {
		t.Errorf("the removed node reading its assignments: %d %s, want 404 (register again)", code, text)
	}
	if code, text, _ := s.register(s.base, old, "node-a", "127.0.0.1"); code != http.StatusForbidden {
		t.Errorf("the removed node registering with its old certificate: %d %s, want 403", code, text)
	}
	code, text, fresh := s.register(s.base, credential{name: "join token", token: s.join}, "node-a", "127.0.0.3")
	if code != http.StatusOK {
		t.Fatalf("a new machine registering the freed name with the join token: %d %s", code, text)
	}
	if fresh.id == s.a.id {
		t.Errorf("the new node-a got the removed node's id %s", fresh.id)
	}
	if code, text := s.call(s.base, old, http.MethodGet, "/v1/agent/nodes/"+fresh.id+"/assignments", "", nil, nil); code != http.StatusForbidden {
		t.Errorf("the removed node's certificate reading the new node-a's assignments: %d %s, want 403", code, text)
	}
}

// TestFollowerVouchesForTheNode: a node's write reaching a follower is
// forwarded to the leader with the node named by the follower, so the
// node's own calls work through any master, and a node still acts only as
// itself there.
func TestFollowerVouchesForTheNode(t *testing.T) {
	s := setupAttack(t)
	token, err := os.ReadFile(filepath.Join(s.dir, MasterTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	follower, err := Start(context.Background(), Config{DataDir: t.TempDir(), APIAddr: "127.0.0.1:0", RaftAddr: freeTCPAddr(t),
		Join: []string{s.m.URL()}, JoinToken: strings.TrimSpace(string(token)), NodeTimeout: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(follower.Stop)
	nodeA := credential{name: "node-a's certificate", cert: &s.a.client}
	report := statusReport(s.a.id, s.repA, ipIn(s.a.subnet, 6))
	if code, text := s.call(follower.URL(), nodeA, http.MethodPost, "/v1/agent/nodes/"+s.a.id+"/status", "application/x-protobuf", report, nil); code != http.StatusNoContent {
		t.Errorf("node-a reporting through the follower: %d %s", code, text)
	}
	if code, text, _ := s.register(follower.URL(), nodeA, "node-a", "127.0.0.1"); code != http.StatusOK {
		t.Errorf("node-a registering again through the follower: %d %s", code, text)
	}
	before := s.snapshot()
	spoof := http.Header{peer.HeaderNode: {s.b.name}, peer.HeaderNodeID: {s.b.id}}
	forB := statusReport(s.b.id, s.repB, ipIn(s.b.subnet, 6))
	if code, text := s.call(follower.URL(), nodeA, http.MethodPost, "/v1/agent/nodes/"+s.b.id+"/status", "application/x-protobuf", forB, spoof); code != http.StatusForbidden {
		t.Errorf("node-a reporting for node-b through the follower, naming node-b in the headers: %d %s, want 403", code, text)
	}
	if code, text, _ := s.register(follower.URL(), nodeA, "node-b", "127.0.0.1"); code != http.StatusConflict {
		t.Errorf("node-a registering as node-b through the follower: %d %s, want 409", code, text)
	}
	if after := s.snapshot(); after != before {
		t.Errorf("the attacks through the follower changed the cluster's state:\n%s", lineDiff(before, after))
	}
}
