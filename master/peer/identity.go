package peer

import (
	"net/http"

	"github.com/orch-io/orch/pki"
)

// A follower that forwards a node's call to the leader names the node in
// these headers and presents its own master certificate, which is what
// makes the leader believe them. They are dropped from every request the
// forwarder passes on, and ignored on a request without a master's
// certificate.
const (
	HeaderNode   = "X-Orch-Node"
	HeaderNodeID = "X-Orch-Node-Id"
)

// CallerNode is the node a request comes from: the one its verified client
// certificate names, or, on a request a master forwarded, the one that
// master vouches for. ok is false for any other caller.
func CallerNode(r *http.Request) (pki.NodeIdentity, bool) {
	if id, ok := pki.PeerNode(r.TLS); ok {
		return id, true
	}
	if r.Header.Get(HeaderForwarded) == "" || !pki.PeerIsMaster(r.TLS) {
		return pki.NodeIdentity{}, false
	}
	id := pki.NodeIdentity{Name: r.Header.Get(HeaderNode), ID: r.Header.Get(HeaderNodeID)}
	return id, id.Name != "" && id.ID != ""
}
