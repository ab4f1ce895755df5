package dispatcher

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// peerLogSize is how many node changes the peer table remembers. A stream
// further behind than that gets its whole set again, which only a burst
// of thousands of node changes between two of its wakes can cause.
const peerLogSize = 4096

// peerTable is the overlay's view of every node, kept once for all the
// streams that carry peers, with a log of recent changes: a node change
// costs each of those streams one entry, so O(nodes) in all, where
// computing every stream's peer list again would cost O(nodes²).
// Guarded by the fanout's tableMu; since only reads.
type peerTable struct {
	ready bool
	// epoch changes when the table is rebuilt from a listing: positions
	// of an older epoch mean nothing.
	epoch  uint64
	seq    uint64
	nodes  map[string]*orchpb.Node
	hashes map[string]uint64
	// digest is the XOR of every node's hash, so that a stream's digest
	// (every node but its own) costs one XOR.
	digest uint64
	// log holds the ids changed at positions logStart+1 .. seq.
	log      []string
	logStart uint64
}

// peerView is what a node's overlay needs to know of another node. Its
// state is left out: an agent keeps a down node's routes (it may only be
// cut off from the masters), so a node going down or coming back changes
// nothing for its peers, and must not send every stream a message: at
// 5,000 nodes a wave of late heartbeats became thousands of messages per
// stream.
func peerView(n *orchpb.Node) *orchpb.Node {
	return &orchpb.Node{Id: n.GetId(), Name: n.GetName(), Address: n.GetAddress(), Subnet: n.GetSubnet()}
}

// hashMessage is a 64-bit digest of m's deterministic encoding, the same on
// every master of one version. kind keeps an assignment and a node that
// happen to encode alike apart.
func hashMessage(kind byte, m proto.Message) uint64 {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		// Only an invalid message fails to encode; it must never match.
		return 0
	}
	return hashBytes(kind, b)
}

func hashBytes(kind byte, b []byte) uint64 {
	h := sha256.New()
	h.Write([]byte{kind})
	h.Write(b)
	return binary.BigEndian.Uint64(h.Sum(nil))
}

const (
	hashPeer byte = iota + 1
	hashAssignmentKind
	hashVolumes
	hashShape
	hashTrustKind
)

// reset rebuilds the table from a listing of every node.
func (t *peerTable) reset(nodes []*orchpb.Node) {
	t.ready = true
	t.epoch++
	t.nodes = make(map[string]*orchpb.Node, len(nodes))
	t.hashes = make(map[string]uint64, len(nodes))
	t.digest = 0
	for _, n := range nodes {
		v := peerView(n)
		h := hashMessage(hashPeer, v)
		t.nodes[v.GetId()], t.hashes[v.GetId()] = v, h
		t.digest ^= h
	}
	t.log, t.logStart = t.log[:0], t.seq
}

// put records a node's current state; it reports whether its view changed
// (a node's heartbeat-free fields rarely do).
func (t *peerTable) put(n *orchpb.Node) bool {
	v := peerView(n)
	h := hashMessage(hashPeer, v)
	old, ok := t.hashes[v.GetId()]
	if ok && old == h {
		return false
	}
	t.digest ^= old ^ h
	t.nodes[v.GetId()], t.hashes[v.GetId()] = v, h
	t.logChange(v.GetId())
	return true
}

// remove forgets a deleted node.
func (t *peerTable) remove(id string) bool {
	old, ok := t.hashes[id]
	if !ok {
		return false
	}
	t.digest ^= old
	delete(t.nodes, id)
	delete(t.hashes, id)
	t.logChange(id)
	return true
}

func (t *peerTable) logChange(id string) {
	t.seq++
	t.log = append(t.log, id)
	if len(t.log) > peerLogSize {
		drop := len(t.log) - peerLogSize
		t.log = slices.Delete(t.log, 0, drop)
		t.logStart += uint64(drop)
	}
}

// peerCursor is how far one stream has followed the table.
type peerCursor struct {
	epoch, seq uint64
}

// peerChanges is what a stream must send to catch up: every peer (full),
// or the changed ones and the removed ids.
type peerChanges struct {
	full    bool
	put     []*orchpb.Node
	removed []string
	// digest covers every peer of the stream's node after these changes.
	digest uint64
	cursor peerCursor
}

// since answers what the stream of node self must send to move from at to
// now; ok is false while the table has not been listed yet.
func (t *peerTable) since(self string, at peerCursor) (ch peerChanges, ok bool) {
	if !t.ready {
		return ch, false
	}
	ch.cursor = peerCursor{epoch: t.epoch, seq: t.seq}
	ch.digest = t.digest ^ t.hashes[self]
	if at.epoch != t.epoch || at.seq < t.logStart {
		ch.full = true
		for id, n := range t.nodes {
			if id != self {
				ch.put = append(ch.put, n)
			}
		}
		slices.SortFunc(ch.put, func(a, b *orchpb.Node) int { return strings.Compare(a.GetId(), b.GetId()) })
		return ch, true
	}
	seen := map[string]bool{}
	for _, id := range t.log[at.seq-t.logStart:] {
		if id == self || seen[id] {
			continue
		}
		seen[id] = true
		if n, ok := t.nodes[id]; ok {
			ch.put = append(ch.put, n)
		} else {
			ch.removed = append(ch.removed, id)
		}
	}
	return ch, true
}
