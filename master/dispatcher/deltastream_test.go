package dispatcher

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/orch-io/orch/master/store"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protodelim"
)

// streamRig is a dispatcher over a real store behind a TLS server that
// checks client certificates as the API server does, and the client of
// node a.
type streamRig struct {
	st     *store.Store
	index  uint64
	d      *Dispatcher
	srv    *httptest.Server
	client *http.Client
}

func newStreamRig(t *testing.T) *streamRig { return newStreamRigWith(t, Deps{}) }

// newStreamRigWith is a rig whose dispatcher has deps (Store and CA are
// the rig's). It speaks HTTP/2, as agents and masters do.
func newStreamRigWith(t *testing.T, deps Deps) *streamRig {
	t.Helper()
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	rig := &streamRig{st: store.New()}
	for _, id := range []string{"a", "b"} {
		rig.registerNode(t, id)
	}
	rig.apply(t, &orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{Spec: &orchpb.ServiceSpec{Namespace: "default", Name: "web"}}}})
	deps.Store, deps.CA = rig.st, ca
	rig.d = New(deps)
	mux := http.NewServeMux()
	for _, route := range rig.d.Routes() {
		mux.HandleFunc(route.Pattern, route.Handler)
	}
	serverCert, err := ca.IssueMaster([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	rig.srv = httptest.NewUnstartedServer(mux)
	rig.srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: ca.Pool()}
	rig.srv.EnableHTTP2 = true
	rig.srv.StartTLS()
	t.Cleanup(rig.srv.Close)
	csr, key, err := pki.NewCSR(pki.NodePrefix + "a")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignNodeClient(csr, pki.NodeIdentity{Name: "a", ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{cert}}, ForceAttemptHTTP2: true}
	rig.client = &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)
	return rig
}

func (rig *streamRig) apply(t *testing.T, cmd *orchpb.Command) {
	t.Helper()
	rig.index++
	if res := rig.st.Apply(rig.index, cmd); res.GetErrorCode() != "" {
		t.Fatal(res.GetError())
	}
}

func (rig *streamRig) registerNode(t *testing.T, id string) {
	t.Helper()
	n := len(rig.st.Nodes()) + 1
	rig.apply(t, &orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: &orchpb.Node{
		Id: id, Name: id, Address: fmt.Sprintf("192.0.2.%d", n), Subnet: fmt.Sprintf("10.224.%d.0/24", n)}}}})
}

func (rig *streamRig) putReplica(t *testing.T, id string, desired orchpb.DesiredState) {
	t.Helper()
	rig.apply(t, &orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: []*orchpb.Replica{{
		Id: id, Namespace: "default", Service: "web", Slot: 1, Node: "a", DesiredState: string(desired), State: string(orchpb.ReplicaAssigned)}}}}})
}

// open starts node a's stream; its messages arrive on the channel, which
// closes when the stream ends.
func (rig *streamRig) open(t *testing.T, query string) (<-chan *orchpb.AssignmentSet, http.Header, func()) {
	t.Helper()
	return rig.openWith(t, query, nil)
}

// openWith is open with body sent up the stream.
func (rig *streamRig) openWith(t *testing.T, query string, body io.Reader) (<-chan *orchpb.AssignmentSet, http.Header, func()) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rig.srv.URL+"/v1/agent/nodes/a/assignments?"+query, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rig.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("open stream: %s", resp.Status)
	}
	out := make(chan *orchpb.AssignmentSet, 16)
	go func() {
		defer close(out)
		r := bufio.NewReader(resp.Body)
		for {
			msg := &orchpb.AssignmentSet{}
			if err := protodelim.UnmarshalFrom(r, msg); err != nil {
				return
			}
			out <- msg
		}
	}()
	return out, resp.Header, func() { resp.Body.Close() }
}

func next(t *testing.T, ch <-chan *orchpb.AssignmentSet, what string) *orchpb.AssignmentSet {
	t.Helper()
	select {
	case msg, ok := <-ch:
		if !ok {
			t.Fatalf("%s: the stream ended", what)
		}
		return msg
	case <-time.After(3 * time.Second):
		t.Fatalf("%s: no message", what)
	}
	return nil
}

func ids(asgs []*orchpb.Assignment) []string {
	var out []string
	for _, a := range asgs {
		out = append(out, a.GetReplica().GetId())
	}
	return out
}

func nodeIDs(nodes []*orchpb.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.GetId())
	}
	return out
}

// TestDeltaStreamSendsOnlyChanges: the whole set first, then each change
// alone (an assignment, a peer, a removal), nothing for a status report,
// numbered in sequence; and the digest of the last delta is the digest of
// the whole set a new stream begins with.
func TestDeltaStreamSendsOnlyChanges(t *testing.T) {
	rig := newStreamRig(t)
	rig.putReplica(t, "r1", orchpb.DesiredRunning)
	ch, header, closeStream := rig.open(t, "delta=true")
	defer closeStream()
	if header.Get(headerAssignments) != "delta" {
		t.Fatalf("header %s = %q, want delta", headerAssignments, header.Get(headerAssignments))
	}
	first := next(t, ch, "whole set")
	if first.GetDelta() || first.GetSeq() != 1 || fmt.Sprint(ids(first.GetAssignments())) != "[r1]" || fmt.Sprint(nodeIDs(first.GetPeers())) != "[b]" {
		t.Fatalf("first message: delta %v seq %d assignments %v peers %v", first.GetDelta(), first.GetSeq(), ids(first.GetAssignments()), nodeIDs(first.GetPeers()))
	}
	rig.putReplica(t, "r2", orchpb.DesiredRunning)
	msg := next(t, ch, "r2 assigned")
	if !msg.GetDelta() || msg.GetSeq() != 2 || fmt.Sprint(ids(msg.GetAssignments())) != "[r2]" || len(msg.GetPeers()) != 0 {
		t.Fatalf("after r2: delta %v seq %d assignments %v peers %v", msg.GetDelta(), msg.GetSeq(), ids(msg.GetAssignments()), nodeIDs(msg.GetPeers()))
	}
	rig.registerNode(t, "c")
	msg = next(t, ch, "node c joined")
	if msg.GetSeq() != 3 || len(msg.GetAssignments()) != 0 || fmt.Sprint(nodeIDs(msg.GetPeers())) != "[c]" {
		t.Fatalf("after c joined: seq %d assignments %v peers %v", msg.GetSeq(), ids(msg.GetAssignments()), nodeIDs(msg.GetPeers()))
	}
	rig.putReplica(t, "r1", orchpb.DesiredStopped)
	msg = next(t, ch, "r1 stopped")
	if msg.GetSeq() != 4 || fmt.Sprint(msg.GetRemoved()) != "[r1]" || len(msg.GetAssignments()) != 0 {
		t.Fatalf("after r1 stopped: seq %d removed %v assignments %v", msg.GetSeq(), msg.GetRemoved(), ids(msg.GetAssignments()))
	}
	rig.apply(t, &orchpb.Command{Op: &orchpb.Command_ReportReplicaStatus{ReportReplicaStatus: &orchpb.ReportReplicaStatus{
		NodeId: "a", Statuses: []*orchpb.ReplicaStatus{{Id: "r2", State: string(orchpb.ReplicaRunning), Ip: "10.224.1.2"}}}}})
	select {
	case msg := <-ch:
		t.Fatalf("a status report sent message %d (assignments %v)", msg.GetSeq(), ids(msg.GetAssignments()))
	case <-time.After(300 * time.Millisecond):
	}
	closeStream()

	again, _, closeAgain := rig.open(t, "delta=true")
	defer closeAgain()
	whole := next(t, again, "whole set of a new stream")
	if whole.GetDelta() || fmt.Sprint(ids(whole.GetAssignments())) != "[r2]" || fmt.Sprint(nodeIDs(whole.GetPeers())) != "[b c]" {
		t.Fatalf("new stream: delta %v assignments %v peers %v", whole.GetDelta(), ids(whole.GetAssignments()), nodeIDs(whole.GetPeers()))
	}
	if whole.GetDigest() != msg.GetDigest() {
		t.Fatalf("the whole set's digest %016x differs from the last delta's %016x: a resume would resync forever", whole.GetDigest(), msg.GetDigest())
	}
}

// TestDeltaStreamResumes: an agent that reconnects with the digest of the
// set it holds gets an empty delta when nothing changed, and the whole
// set when something did.
func TestDeltaStreamResumes(t *testing.T) {
	rig := newStreamRig(t)
	rig.putReplica(t, "r1", orchpb.DesiredRunning)
	ch, _, closeStream := rig.open(t, "delta=true")
	held := next(t, ch, "whole set").GetDigest()
	closeStream()

	ch, _, closeStream = rig.open(t, fmt.Sprintf("delta=true&since=%016x", held))
	msg := next(t, ch, "resumed stream")
	closeStream()
	if !msg.GetDelta() || msg.GetSeq() != 1 || len(msg.GetAssignments()) != 0 || len(msg.GetPeers()) != 0 || msg.GetDigest() != held {
		t.Fatalf("resume on an unchanged set: delta %v seq %d assignments %v peers %v digest %016x (held %016x)",
			msg.GetDelta(), msg.GetSeq(), ids(msg.GetAssignments()), nodeIDs(msg.GetPeers()), msg.GetDigest(), held)
	}

	rig.putReplica(t, "r2", orchpb.DesiredRunning)
	ch, _, closeStream = rig.open(t, fmt.Sprintf("delta=true&since=%016x", held))
	defer closeStream()
	msg = next(t, ch, "stream resumed after a change")
	if msg.GetDelta() || fmt.Sprint(ids(msg.GetAssignments())) != "[r1 r2]" {
		t.Fatalf("resume after a change: delta %v assignments %v, want the whole set", msg.GetDelta(), ids(msg.GetAssignments()))
	}
}

// TestWholeStreamForOldAgents: without ?delta the stream is v0.1.0's, whole
// sets and no delta header.
func TestWholeStreamForOldAgents(t *testing.T) {
	rig := newStreamRig(t)
	rig.putReplica(t, "r1", orchpb.DesiredRunning)
	ch, header, closeStream := rig.open(t, "")
	defer closeStream()
	if header.Get(headerAssignments) != "" {
		t.Fatalf("a v0.1.0 stream has header %s", headerAssignments)
	}
	next(t, ch, "whole set")
	rig.putReplica(t, "r2", orchpb.DesiredRunning)
	msg := next(t, ch, "whole set after r2")
	if msg.GetDelta() || msg.GetSeq() != 0 || fmt.Sprint(ids(msg.GetAssignments())) != "[r1 r2]" {
		t.Fatalf("old agents' stream: delta %v seq %d assignments %v", msg.GetDelta(), msg.GetSeq(), ids(msg.GetAssignments()))
	}
}

// TestDeltaStreamRefusesABadSince names the field.
func TestDeltaStreamRefusesABadSince(t *testing.T) {
	rig := newStreamRig(t)
	resp, err := rig.client.Get(rig.srv.URL + "/v1/agent/nodes/a/assignments?delta=true&since=zz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("since=zz: %s, want 400", resp.Status)
	}
}

// A stream woken by peer changes waits for more of them, but a change to
// its node's own set ends the wait at once, and so does the stream's end.
func TestCoalescePeers(t *testing.T) {
	sub := &subscriber{ch: make(chan struct{}, 1)}
	if !coalescePeers(context.Background(), sub, sub.ch, false, time.Hour) {
		t.Fatal("a stream without peers waited")
	}
	sub.own.Store(true)
	if !coalescePeers(context.Background(), sub, sub.ch, true, time.Hour) {
		t.Fatal("an own change waited")
	}
	sub.own.Store(false)
	done := make(chan bool, 1)
	go func() { done <- coalescePeers(context.Background(), sub, sub.ch, true, time.Hour) }()
	wake(sub) // another peer change: still waiting
	select {
	case <-done:
		t.Fatal("a peer change ended the wait")
	case <-time.After(50 * time.Millisecond):
	}
	sub.own.Store(true)
	wake(sub)
	select {
	case ok := <-done:
		if !ok {
			t.Error("an own change during the wait answered false")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an own change did not end the wait")
	}
	sub.own.Store(false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if coalescePeers(ctx, sub, sub.ch, true, time.Hour) {
		t.Error("an ended stream's wait answered true")
	}
}
