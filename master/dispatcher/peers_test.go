package dispatcher

import (
	"fmt"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

func peerNode(id, state string) *orchpb.Node {
	return &orchpb.Node{Id: id, Name: id, Address: "192.0.2.1", State: state, Labels: map[string]string{"zone": "a"}}
}

// TestPeerTableFollowsChanges: a stream that followed the table gets only
// the nodes changed since (never its own), a change outside the peer view
// (labels, a node going down) is no change, and a stream further behind than the log, or of
// another listing, gets every peer. The digest is the same however the
// table was reached.
func TestPeerTableFollowsChanges(t *testing.T) {
	var tab peerTable
	if _, ok := tab.since("a", peerCursor{}); ok {
		t.Fatal("answered before the first listing")
	}
	tab.reset([]*orchpb.Node{peerNode("a", "ready"), peerNode("b", "ready")})
	first, _ := tab.since("a", peerCursor{})
	if !first.full || fmt.Sprint(nodeIDs(first.put)) != "[b]" {
		t.Fatalf("first catch-up: full %v peers %v", first.full, nodeIDs(first.put))
	}
	relabelled := peerNode("b", "ready")
	relabelled.Labels = map[string]string{"zone": "b"}
	if tab.put(relabelled) {
		t.Error("a label change counted as a peer change")
	}
	if tab.put(peerNode("b", "down")) {
		t.Error("a node going down counted as a peer change (agents keep a down node's routes)")
	}
	moved := func(id, state string) *orchpb.Node {
		n := peerNode(id, state)
		n.Address = "192.0.2.2"
		return n
	}
	tab.put(peerNode("c", "ready"))
	tab.put(moved("b", "down"))
	tab.put(moved("a", "down"))
	tab.remove("c")
	ch, _ := tab.since("a", first.cursor)
	if ch.full || fmt.Sprint(nodeIDs(ch.put)) != "[b]" || fmt.Sprint(ch.removed) != "[c]" {
		t.Fatalf("catch-up: full %v put %v removed %v", ch.full, nodeIDs(ch.put), ch.removed)
	}
	var fresh peerTable
	fresh.reset([]*orchpb.Node{moved("a", "ready"), moved("b", "ready")})
	if whole, _ := fresh.since("a", peerCursor{}); whole.digest != ch.digest {
		t.Fatalf("digest after changes %016x, of the same nodes listed %016x", ch.digest, whole.digest)
	}
	for i := range peerLogSize + 1 {
		tab.put(peerNode(fmt.Sprintf("x%d", i), "ready"))
	}
	if behind, _ := tab.since("a", ch.cursor); !behind.full {
		t.Fatal("a stream further behind than the log was not sent every peer")
	}
	tab.reset([]*orchpb.Node{peerNode("a", "ready")})
	if relisted, _ := tab.since("a", ch.cursor); !relisted.full {
		t.Fatal("a position of an older listing was taken")
	}
}
