package dispatcher

import (
	"net/http"
	"time"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// endpoints streams the cluster's service endpoints to a node's DNS server:
// the whole set at connect, then only the replicas whose endpoint changed
// (from the feed every stream shares), so a cluster that changes one
// replica sends one record to each agent instead of everything. An empty
// update every resendInterval is the keepalive.
func (d *Dispatcher) endpoints(w http.ResponseWriter, r *http.Request) {
	if _, ok := d.pathNode(w, r); !ok {
		return
	}
	release := d.endpointFeed.runner.acquire()
	defer release()
	stream := d.startDelimitedStream(w, "endpoints")
	keepalive := time.NewTicker(resendInterval)
	defer keepalive.Stop()
	var seq uint64 // 0: the whole set first
	for {
		u, next, changed := d.endpointFeed.since(seq)
		if u != nil && !stream.send(u) {
			return
		}
		seq = next
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			if !stream.send(&orchpb.EndpointUpdate{Index: d.deps.Store.Index()}) {
				return
			}
		case <-changed:
		}
	}
}

// Endpoints are the replicas service discovery publishes, by replica id:
// those meant to run that have an address and are running or unhealthy.
// Whether an unhealthy one is answered is the DNS server's choice; it needs
// to know the replica exists to answer its slot name.
func Endpoints(st *store.Store) map[string]*orchpb.Endpoint {
	out := map[string]*orchpb.Endpoint{}
	for _, rep := range st.AllReplicas() {
		if ep := endpointOf(rep); ep != nil {
			out[rep.GetId()] = ep
		}
	}
	return out
}

// endpointOf is rep's endpoint, or nil if it publishes none.
func endpointOf(rep *orchpb.Replica) *orchpb.Endpoint {
	if rep.Desired() != orchpb.DesiredRunning || rep.GetIp() == "" {
		return nil
	}
	switch rep.Observed() {
	case orchpb.ReplicaRunning, orchpb.ReplicaUnhealthy:
	default:
		return nil
	}
	return &orchpb.Endpoint{
		ReplicaId:  rep.GetId(),
		Namespace:  rep.GetNamespace(),
		Service:    rep.GetService(),
		Slot:       rep.GetSlot(),
		Ip:         rep.GetIp(),
		NodeId:     rep.GetNode(),
		State:      rep.GetState(),
		Generation: rep.GetGeneration(),
	}
}
