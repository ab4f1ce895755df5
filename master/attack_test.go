package master

// The attacker suite: for each credential an attacker may hold (the agent
// join token, node A's certificate, a reader token, an expired token, a
// revoked token, nothing) it speaks the real protocol to a real master and
// tries every action that credential must not allow. Each must be refused,
// and the cluster's state must be exactly what it was.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/master/manifest"
	"github.com/orch-io/orch/master/peer"
	"github.com/orch-io/orch/master/store"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// credential is what an attacker presents: a bearer token, a client
// certificate, both or neither.
type credential struct {
	name  string
	token string
	cert  *tls.Certificate
}

// attackNode is a registered node as its agent holds it.
type attackNode struct {
	name, id, subnet string
	client, server   tls.Certificate
}

type attackCluster struct {
	t     *testing.T
	dir   string
	m     *Master
	pool  *x509.CertPool
	admin *client.Client
	join  string
}

func startAttackCluster(t *testing.T) *attackCluster {
	t.Helper()
	dir := t.TempDir()
	m, admin := startTestMaster(t, Config{DataDir: dir, RaftAddr: freeTCPAddr(t), NodeTimeout: time.Hour})
	join, err := os.ReadFile(filepath.Join(dir, AgentTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	return &attackCluster{t: t, dir: dir, m: m, pool: m.CA().Pool(), admin: admin, join: strings.TrimSpace(string(join))}
}

func freeTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// call makes one request to base+path as cred, and returns the status and
// the body (none for a stream, which would not end).
func (c *attackCluster) call(base string, cred credential, method, path, contentType string, body []byte, header http.Header) (int, string) {
	c.t.Helper()
	tc := &tls.Config{RootCAs: c.pool, MinVersion: tls.VersionTLS12}
	if cred.cert != nil {
		tc.Certificates = []tls.Certificate{*cred.cert}
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if cred.token != "" {
		req.Header.Set("Authorization", "Bearer "+cred.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s as %s: %v", method, path, cred.name, err)
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-protobuf-delimited") {
		return resp.StatusCode, ""
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(data)
}

// register registers name at address as cred, with a new key, and returns
// the status and, on success, the node as its agent holds it.
func (c *attackCluster) register(base string, cred credential, name, address string) (int, string, *attackNode) {
	c.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.registerWithKey(base, cred, name, address, key)
}

// registerWithKey is register with a key made before.
func (c *attackCluster) registerWithKey(base string, cred credential, name, address string, key *ecdsa.PrivateKey) (int, string, *attackNode) {
	c.t.Helper()
	csr, err := pki.CSRFor(pki.NodePrefix+name, key)
	if err != nil {
		c.t.Fatal(err)
	}
	body, err := protojson.Marshal(&orchpb.NodeRegistration{Name: name, Address: address, AgentAddress: address + ":7001", CsrPem: string(csr),
		Capacity: &orchpb.ResourceAmounts{CpuMillis: 4000, MemoryBytes: 8 << 30}})
	if err != nil {
		c.t.Fatal(err)
	}
	code, text := c.call(base, cred, http.MethodPost, "/v1/agent/register", api.ContentTypeJSON, body, nil)
	if code != http.StatusOK {
		return code, text, nil
	}
	var resp orchpb.NodeRegistrationResponse
	if err := protojson.Unmarshal([]byte(text), &resp); err != nil {
		c.t.Fatalf("register %s: %v", name, err)
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		c.t.Fatal(err)
	}
	n := &attackNode{name: name, id: resp.GetNode().GetId(), subnet: resp.GetNode().GetSubnet()}
	if n.client, err = tls.X509KeyPair([]byte(resp.GetCertificatePem()), keyPEM); err != nil {
		c.t.Fatal(err)
	}
	if n.server, err = tls.X509KeyPair([]byte(resp.GetServerCertificatePem()), keyPEM); err != nil {
		c.t.Fatal(err)
	}
	return code, text, n
}

// snapshot is the cluster's state an attack could change: services,
// replicas and nodes, as the store holds them.
func (c *attackCluster) snapshot() string {
	st := c.m.Store()
	var objects []string
	for _, svc := range st.Services("") {
		objects = append(objects, protojson.Format(svc))
	}
	for _, rep := range st.AllReplicas() {
		objects = append(objects, protojson.Format(rep))
	}
	for _, n := range st.Nodes() {
		objects = append(objects, protojson.Format(n))
	}
	slices.Sort(objects)
	return strings.Join(objects, "\n")
}

// statusReport is a binary status report of node about one replica.
func statusReport(nodeID, replicaID, ip string) []byte {
	data, err := proto.Marshal(&orchpb.StatusReport{NodeId: nodeID, Statuses: []*orchpb.ReplicaStatus{
		{Id: replicaID, State: string(orchpb.ReplicaRunning), Ip: ip, StartedAt: time.Now().UnixMilli()}}})
	if err != nil {
		panic(err)
	}
	return data
}

// ipIn is an address inside subnet (a /24).
func ipIn(subnet string, host int) string {
	prefix, _, _ := strings.Cut(subnet, "/")
	parts := strings.Split(prefix, ".")
	return fmt.Sprintf("%s.%s.%s.%d", parts[0], parts[1], parts[2], host)
}

// attackSetup is a cluster with nodes A and B, each running one replica
// of a global service, and every credential an attacker may hold.
type attackSetup struct {
	*attackCluster
	a, b         *attackNode
	repA, repB   string
	creds        []credential
	base         string
	readerToken  string
	revokedToken string
}

func setupAttack(t *testing.T) *attackSetup {
	c := startAttackCluster(t)
	s := &attackSetup{attackCluster: c, base: c.m.URL()}
	join := credential{name: "agent join token", token: c.join}
	var code int
	var text string
	if code, text, s.a = c.register(s.base, join, "node-a", "127.0.0.1"); code != http.StatusOK {
		t.Fatalf("register node-a with the join token: %d %s", code, text)
	}
	if code, text, s.b = c.register(s.base, join, "node-b", "127.0.0.2"); code != http.StatusOK {
		t.Fatalf("register node-b with the join token: %d %s", code, text)
	}
	spec, err := manifest.ParseOne([]byte("kind: Service\nname: web\nimage: orch.local/hello:1\nmode: global\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.admin.ApplyService(ctx, spec, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.repA == "" || s.repB == "" {
		if time.Now().After(deadline) {
			t.Fatal("the global service's replicas were not placed on both nodes")
		}
		time.Sleep(20 * time.Millisecond)
		for _, rep := range c.m.Store().Replicas(store.ReplicaFilter{Service: "web"}) {
			switch rep.GetNode() {
			case s.a.id:
				s.repA = rep.GetId()
			case s.b.id:
				s.repB = rep.GetId()
			}
		}
	}
	s.creds = append([]credential{join, {name: "node-a's certificate", cert: &s.a.client}}, s.tokenCreds(ctx)...)
	return s
}

// tokenCreds are a reader token, an expired one, a revoked one and none.
func (s *attackSetup) tokenCreds(ctx context.Context) []credential {
	t := s.t
	reader, err := s.admin.CreateToken(ctx, api.TokenRequest{Role: "reader"})
	if err != nil {
		t.Fatal(err)
	}
	expiring, err := s.admin.CreateToken(ctx, api.TokenRequest{Role: "admin", TTL: "1ms"})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := s.admin.CreateToken(ctx, api.TokenRequest{Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.admin.RevokeToken(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // past the expiry
	s.readerToken, s.revokedToken = reader.Token, revoked.Token
	return []credential{
		{name: "reader token", token: reader.Token},
		{name: "expired admin token", token: expiring.Token},
		{name: "revoked admin token", token: revoked.Token},
		{name: "no credential"},
	}
}

// attack is one forbidden action.
type attack struct {
	what        string
	method      string
	path        string
	contentType string
	body        []byte
	header      http.Header
	// register, when set, registers this name instead (a new key each time).
	register string
}

func (s *attackSetup) attacks() []attack {
	agentPath := func(n *attackNode, what string) string { return "/v1/agent/nodes/" + n.id + "/" + what }
	outside := ipIn(s.b.subnet, 9)
	svc := []byte(`{"kind":"Service","name":"evil","image":"orch.local/hello:1"}`)
	return []attack{
		{what: "register as existing node-b", register: "node-b"},
		{what: "read node-b's assignments", method: http.MethodGet, path: agentPath(s.b, "assignments")},
		{what: "read node-b's endpoints", method: http.MethodGet, path: agentPath(s.b, "endpoints")},
		{what: "report status for node-b's replica", method: http.MethodPost, path: agentPath(s.b, "status"),
			contentType: "application/x-protobuf", body: statusReport(s.b.id, s.repB, ipIn(s.b.subnet, 7))},
		{what: "report node-b's replica through node-a's path", method: http.MethodPost, path: agentPath(s.a, "status"),
			contentType: "application/x-protobuf", body: statusReport(s.a.id, s.repB, ipIn(s.a.subnet, 7))},
		{what: "report an address outside node-a's subnet", method: http.MethodPost, path: agentPath(s.a, "status"),
			contentType: "application/x-protobuf", body: statusReport(s.a.id, s.repA, outside)},
		{what: "claim node-b through the forwarding headers", method: http.MethodGet, path: agentPath(s.b, "assignments"),
			header: http.Header{peer.HeaderForwarded: {"1"}, peer.HeaderNode: {s.b.name}, peer.HeaderNodeID: {s.b.id}}},
		{what: "put a service", method: http.MethodPut, path: "/v1/namespaces/default/services/evil", contentType: api.ContentTypeJSON, body: svc},
		{what: "delete a service", method: http.MethodDelete, path: "/v1/namespaces/default/services/web"},
		{what: "drain node-b", method: http.MethodPost, path: "/v1/nodes/node-b/drain"},
		{what: "remove node-b", method: http.MethodDelete, path: "/v1/nodes/node-b?force=true"},
		{what: "create an admin token", method: http.MethodPost, path: "/v1/tokens", contentType: api.ContentTypeJSON, body: []byte(`{"role":"admin"}`)},
	}
}

// TestAttackerIsRefused: every credential, every forbidden action, each
// refused, and the state unchanged.
func TestAttackerIsRefused(t *testing.T) {
	s := setupAttack(t)
	s.allowed(t)
	before := s.snapshot()
	for _, cred := range s.creds {
		for _, a := range s.attacks() {
			var code int
			var text string
			if a.register != "" {
				code, text, _ = s.register(s.base, cred, a.register, "127.0.0.9")
			} else {
				code, text = s.call(s.base, cred, a.method, a.path, a.contentType, a.body, a.header)
			}
			switch {
			case code != http.StatusUnauthorized && code != http.StatusForbidden && code != http.StatusConflict:
				t.Errorf("%s: %s: got %d, want 401, 403 or 409: %s", cred.name, a.what, code, text)
			case cred.token == "" && cred.cert == nil && code != http.StatusUnauthorized:
				t.Errorf("%s: %s: got %d, want 401", cred.name, a.what, code)
			}
		}
	}
	if after := s.snapshot(); after != before {
		t.Errorf("the attacks changed the cluster's state:\n%s", lineDiff(before, after))
	}
}

// allowed checks that what the credentials do allow still works, so that
// the refusals above are the node authorizer's and not a broken protocol.
func (s *attackSetup) allowed(t *testing.T) {
	nodeA := credential{name: "node-a's certificate", cert: &s.a.client}
	if code, text := s.call(s.base, nodeA, http.MethodGet, "/v1/agent/nodes/"+s.a.id+"/assignments", "", nil, nil); code != http.StatusOK {
		t.Errorf("node-a reading its own assignments: %d %s", code, text)
	}
	if code, text := s.call(s.base, nodeA, http.MethodPost, "/v1/agent/nodes/"+s.a.id+"/status", "application/x-protobuf",
		statusReport(s.a.id, s.repA, ipIn(s.a.subnet, 5)), nil); code != http.StatusNoContent {
		t.Errorf("node-a reporting its own replica: %d %s", code, text)
	}
	if code, text, _ := s.register(s.base, nodeA, "node-a", "127.0.0.1"); code != http.StatusOK {
		t.Errorf("node-a registering again with its certificate: %d %s", code, text)
	}
	if code, text := s.call(s.base, credential{name: "reader", token: s.readerToken}, http.MethodGet, "/v1/nodes", "", nil, nil); code != http.StatusOK {
		t.Errorf("reader listing nodes: %d %s", code, text)
	}
	// The status report reaches the store through the batcher: wait for it,
	// so that it does not land between the snapshots.
	deadline := time.Now().Add(5 * time.Second)
	for s.m.Store().Replica(s.repA).GetIp() != ipIn(s.a.subnet, 5) {
		if time.Now().After(deadline) {
			t.Fatal("node-a's own status report never reached the store")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lineDiff lists the lines of before and after that differ, in order.
func lineDiff(before, after string) string {
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	var out strings.Builder
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(b) {
			x = b[i]
		}
		if i < len(a) {
			y = a[i]
		}
		if x != y {
			fmt.Fprintf(&out, "line %d: %q -> %q\n", i, x, y)
		}
	}
	return out.String()
}
