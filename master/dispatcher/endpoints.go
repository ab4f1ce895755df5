package dispatcher

import (
	"bufio"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/orch-io/orch/master/api/wire"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/proto"
)

// endpoints streams the cluster's service endpoints to a node's DNS server:
// the whole set at connect, then only the replicas whose endpoint changed,
// so a cluster that changes one replica sends one record to each agent
// instead of everything. An empty update every resendInterval is the
// keepalive.
func (d *Dispatcher) endpoints(w http.ResponseWriter, r *http.Request) {
	nodeID := r.PathValue("id")
	if d.deps.Store.Node(nodeID) == nil {
		wire.WriteError(w, &wire.Error{Code: "not_found", Message: "node " + nodeID + " is not registered", Status: http.StatusNotFound})
		return
	}
	changed, cancel := d.deps.Store.Notify()
	defer cancel()
	w.Header().Set("Content-Type", "application/x-protobuf-delimited")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	bw := bufio.NewWriter(w)
	keepalive := time.NewTicker(resendInterval)
	defer keepalive.Stop()

	write := func(u *orchpb.EndpointUpdate) bool {
		if _, err := protodelim.MarshalTo(bw, u); err != nil {
			return false
		}
		if err := bw.Flush(); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	index := d.deps.Store.Index()
	last := Endpoints(d.deps.Store)
	if !write(&orchpb.EndpointUpdate{Index: index, Reset_: true, Put: sortedEndpoints(last)}) {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			if !write(&orchpb.EndpointUpdate{Index: d.deps.Store.Index()}) {
				return
			}
		case <-changed:
			index = d.deps.Store.Index()
			now := Endpoints(d.deps.Store)
			u := DiffEndpoints(last, now)
			if len(u.Put) == 0 && len(u.Deleted) == 0 {
				continue
			}
			u.Index = index
			if !write(u) {
				return
			}
			last = now
		}
	}
}

// Endpoints are the replicas service discovery publishes, by replica id:
// those meant to run that have an address and are running or unhealthy.
// Whether an unhealthy one is answered is the DNS server's choice; it needs
// to know the replica exists to answer its slot name.
func Endpoints(st *store.Store) map[string]*orchpb.Endpoint {
	out := map[string]*orchpb.Endpoint{}
	for _, rep := range st.Replicas(store.ReplicaFilter{}) {
		if rep.GetDesiredState() != orchpb.DesiredRunning || rep.GetIp() == "" {
			continue
		}
		switch rep.GetState() {
		case orchpb.ReplicaRunning, orchpb.ReplicaUnhealthy:
		default:
			continue
		}
		out[rep.GetId()] = &orchpb.Endpoint{
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
	return out
}

// DiffEndpoints is the update that turns the set before into the set after.
func DiffEndpoints(before, after map[string]*orchpb.Endpoint) *orchpb.EndpointUpdate {
	u := &orchpb.EndpointUpdate{}
	for id, ep := range after {
		if old, ok := before[id]; !ok || !proto.Equal(old, ep) {
			u.Put = append(u.Put, ep)
		}
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			u.Deleted = append(u.Deleted, id)
		}
	}
	slices.SortFunc(u.Put, func(a, b *orchpb.Endpoint) int { return strings.Compare(a.GetReplicaId(), b.GetReplicaId()) })
	slices.Sort(u.Deleted)
	return u
}

func sortedEndpoints(m map[string]*orchpb.Endpoint) []*orchpb.Endpoint {
	out := make([]*orchpb.Endpoint, 0, len(m))
	for _, ep := range m {
		out = append(out, ep)
	}
	slices.SortFunc(out, func(a, b *orchpb.Endpoint) int { return strings.Compare(a.GetReplicaId(), b.GetReplicaId()) })
	return out
}
