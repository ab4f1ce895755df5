package dispatcher

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/master/store"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// A follower answers a node's bare heartbeat itself and relays it; a
// report with news, from a node it does not know yet, or any report once
// the follower is out of touch with the leader, goes to the leader, body
// intact; the leader records the relayed batch.
func TestFollowerRelaysBareHeartbeats(t *testing.T) {
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	st := store.New()
	st.Restore(&orchpb.StateSnapshot{Index: 3, Nodes: []*orchpb.Node{{Id: "n1", Name: "node-1", Subnet: "10.244.1.0/24", State: string(orchpb.NodeReady)}}})
	leads := false
	now := time.Unix(1000, 0)
	contact := now
	var forwarded []string
	d := New(Deps{Store: st, Now: func() time.Time { return now }, IsLeader: func() bool { return leads },
		LeaderContact: func() time.Time { return contact }, Forward: func(w http.ResponseWriter, r *http.Request) {
			var rep orchpb.StatusReport
			body, err := io.ReadAll(r.Body)
			if err != nil {
				t.Errorf("forwarded body: %v", err)
			}
			if err := proto.Unmarshal(body, &rep); err != nil {
				t.Errorf("forwarded body: %v", err)
			}
			forwarded = append(forwarded, rep.GetNodeId())
			w.WriteHeader(http.StatusNoContent)
		}})
	report := func(id, node string, statuses ...*orchpb.ReplicaStatus) int {
		body, _ := proto.Marshal(&orchpb.StatusReport{NodeId: node, Statuses: statuses})
		r := httptest.NewRequest(http.MethodPost, "/v1/agent/nodes/"+node+"/status", strings.NewReader(string(body)))
		r.SetPathValue("id", node)
		r.TLS = nodeTLS(t, ca, id, node)
		w := httptest.NewRecorder()
		d.status(w, r)
		return w.Code
	}
	if code := report("node-1", "n1"); code != http.StatusNoContent || len(forwarded) != 0 {
		t.Fatalf("bare heartbeat at a follower: %d, forwarded %v", code, forwarded)
	}
	if code := report("node-1", "n1", &orchpb.ReplicaStatus{Id: "r1", State: string(orchpb.ReplicaRunning)}); code != http.StatusNoContent || len(forwarded) != 1 {
		t.Fatalf("a report with a status at a follower: %d, forwarded %v", code, forwarded)
	}
	if code := report("node-2", "n2"); code != http.StatusNoContent || len(forwarded) != 2 || forwarded[1] != "n2" {
		t.Fatalf("a node the follower does not know yet: %d, forwarded %v", code, forwarded)
	}
	if got := d.relay.take(); len(got) != 1 || got[0] != "n1" {
		t.Fatalf("relayed %v, want [n1]", got)
	}
	// Out of touch with the leader, the follower takes no heartbeat: the
	// leader would never hear of it.
	now = now.Add(leaderContactLimit)
	if code := report("node-1", "n1"); code != http.StatusNoContent || len(forwarded) != 3 || forwarded[2] != "n1" {
		t.Fatalf("bare heartbeat at a follower out of touch: %d, forwarded %v", code, forwarded)
	}
	if got := d.relay.take(); len(got) != 0 {
		t.Fatalf("relayed %v while out of touch with the leader", got)
	}
	// The leader's side.
	leads = true
	w := httptest.NewRecorder()
	d.relayedBeats(w, httptest.NewRequest(http.MethodPost, "/v1/peer/beats", strings.NewReader(`{"nodes":["n1","gone"]}`)))
	if w.Code != http.StatusNoContent {
		t.Fatalf("relayed beats at the leader: %d %s", w.Code, w.Body)
	}
	if _, ok := d.LastHeartbeat("n1"); !ok {
		t.Error("the relayed heartbeat of n1 was not recorded")
	}
	if _, ok := d.LastHeartbeat("gone"); ok {
		t.Error("a heartbeat of a node the store does not know was recorded")
	}
}

// nodeTLS is the connection state of a node presenting its client
// certificate.
func nodeTLS(t *testing.T, ca *pki.CA, name, id string) *tls.ConnectionState {
	csr, _, err := pki.NewCSR(pki.NodePrefix + name)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignNodeClient(csr, pki.NodeIdentity{Name: name, ID: id})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}
}
