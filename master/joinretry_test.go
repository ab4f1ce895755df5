package master

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"testing"
)

// A registration with the join token whose answer was lost (the master
// registered the node, the agent never heard) is retried with the same
// key: it gets the same node back. Anyone else with the join token (another
// key) is still refused the name.
func TestJoinRetryWithTheSameKey(t *testing.T) {
	c := startAttackCluster(t)
	join := credential{name: "agent join token", token: c.join}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	code, text, first := c.registerWithKey(c.m.URL(), join, "node-r", "127.0.0.7", key)
	if code != http.StatusOK {
		t.Fatalf("join: %d %s", code, text)
	}
	code, text, again := c.registerWithKey(c.m.URL(), join, "node-r", "127.0.0.7", key)
	if code != http.StatusOK {
		t.Fatalf("the join retried with the same key: %d %s", code, text)
	}
	if again.id != first.id || again.subnet != first.subnet {
		t.Errorf("the retry registered %s (%s), want the node joined first, %s (%s)", again.id, again.subnet, first.id, first.subnet)
	}
	if n := len(c.m.Store().Nodes()); n != 1 {
		t.Errorf("%d nodes after the retry, want 1", n)
	}
	if code, text, _ := c.register(c.m.URL(), join, "node-r", "127.0.0.8"); code != http.StatusConflict {
		t.Errorf("the join token with another key took node-r: %d %s", code, text)
	}
	if got := c.m.Store().Node(first.id).GetAddress(); got != "127.0.0.7" {
		t.Errorf("node-r's address is %q after the refused registration, want 127.0.0.7", got)
	}
	// The retry's certificate is node-r's.
	self := credential{name: "node-r's certificate", cert: &again.client}
	if code, text := c.call(c.m.URL(), self, http.MethodGet, "/v1/agent/nodes/"+again.id+"/assignments", "", nil, nil); code != http.StatusOK {
		t.Errorf("node-r reading its assignments with the retry's certificate: %d %s", code, text)
	}
}
