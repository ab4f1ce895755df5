package dispatcher

import (
	"net/http"

	"time"

	"github.com/orch-io/orch/api"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// resendInterval is how often an unchanged set is sent again: it doubles as
// the master's keepalive, so an agent can tell a quiet stream from a dead one.
const resendInterval = 5 * time.Second

// assignments streams the node's assignment set. An agent that asks for
// ?delta=true gets the whole set once, then only changes, and a few-byte
// keepalive every resendInterval; agents of v0.1.0 get the whole set at
// every change and again every resendInterval.
func (d *Dispatcher) assignments(w http.ResponseWriter, r *http.Request) {
	node, ok := d.pathNode(w, r)
	if !ok {
		return
	}
	// ?peers=false leaves the other nodes out of the set: an agent without
	// an overlay (the hollow agent) does not need them.
	withPeers := r.URL.Query().Get("peers") != "false"
	if r.URL.Query().Get("beats") == "true" {
		var stop func()
		r, stop = d.acceptStreamBeats(w, r, node.GetId())
		defer stop()
	}
	if r.URL.Query().Get("delta") == "true" {
		since, err := parseDigest(r.URL.Query().Get("since"))
		if err != nil {
			api.WriteError(w, &api.Error{Code: "invalid", Field: "since", Message: "since: " + err.Error(), Status: http.StatusBadRequest})
			return
		}
		d.deltaAssignments(w, r, node.GetId(), withPeers, since)
		return
	}
	d.wholeAssignments(w, r, node.GetId(), withPeers)
}

// wholeAssignments is the stream of v0.1.0's agents.
func (d *Dispatcher) wholeAssignments(w http.ResponseWriter, r *http.Request, nodeID string, withPeers bool) {
	sub, cancel := d.streams.subscribe(nodeID, withPeers)
	defer cancel()
	changed := sub.ch
	stream := d.startDelimitedStream(w, "whole")
	resend := time.NewTicker(resendInterval)
	defer resend.Stop()

	var last *orchpb.AssignmentSet
	send := func(force bool) bool {
		set := assignmentSet(d.deps.Store, nodeID, withPeers)
		d.addSecretData(set)
		d.addCATrust(set)
		if !force && last != nil && sameSet(set, last) {
			return true
		}
		if !stream.send(set) {
			return false
		}
		// Not a heartbeat: a write into a dead agent's socket buffer can
		// succeed. Only what the agent sends proves it alive.
		last = set
		return true
	}
	if !send(true) {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-changed:
			if !send(false) {
				return
			}
		case <-resend.C:
			if !send(true) {
				return
			}
		}
	}
}

// sameSet compares two sets of one node without copying them (thousands of
// streams compare on every change that concerns them). The fields an
// assignment carries are fixed when its replica is created and placed,
// but for `started`, which flips once and may wait for the next resend;
// so comparing replica ids in their stored order is enough. Peers, when
// carried, are compared whole.
func sameSet(a, b *orchpb.AssignmentSet) bool {
	if len(a.GetAssignments()) != len(b.GetAssignments()) || len(a.GetPeers()) != len(b.GetPeers()) ||
		!sameVolumes(a.GetVolumes(), b.GetVolumes()) {
		return false
	}
	for i, x := range a.GetAssignments() {
		if x.GetReplica().GetId() != b.GetAssignments()[i].GetReplica().GetId() {
			return false
		}
	}
	for i, p := range a.GetPeers() {
		if !proto.Equal(p, b.GetPeers()[i]) {
			return false
		}
	}
	return true
}

// addSecretData puts into each assignment the values its spec uses. Only
// this node's stream calls it for this node's set.
func (d *Dispatcher) addSecretData(set *orchpb.AssignmentSet) {
	for _, a := range set.GetAssignments() {
		if len(a.GetSpec().GetSecrets()) == 0 && len(a.GetSpec().GetConfigs()) == 0 && len(a.GetSpec().GetEnvFrom()) == 0 {
			continue
		}
		data, err := secretData(d.deps.Store, d.deps.DataKey, a.GetSpec())
		if err != nil {
			// The error names objects and keys, never values.
			d.log.Warn("a replica's secrets or configs are not available", "replica", a.GetReplica().GetId(), "err", err)
		}
		a.SecretData = data
	}
}

// assigned reports whether rep belongs in its node's assignment set.
func assigned(rep *orchpb.Replica) bool {
	return rep.GetNode() != "" && rep.Desired() == orchpb.DesiredRunning && rep.Observed() != orchpb.ReplicaLost
}

// assignmentSet is what node must run now: its replicas whose desired
// state is running, each with the spec of its own generation, and the
// other nodes when withPeers. Observed fields are left out so that status
// reports do not make the set look changed.
func assignmentSet(st *store.Store, nodeID string, withPeers bool) *orchpb.AssignmentSet {
	set := readNodeSet(st, nodeID).AssignmentSet
	if !withPeers {
		return set
	}
	for _, n := range st.Nodes() {
		if n.GetId() == nodeID {
			continue
		}
		set.Peers = append(set.Peers, peerView(n))
	}
	return set
}

// nodeSet is a node's set (peers aside) with, for each assignment, the
// stored replica it was built from (from[i] for Assignments[i]). The store never changes a stored
// replica (a change stores a copy), so a delta stream that sees the same
// replica again knows its assignment unchanged without encoding it.
type nodeSet struct {
	*orchpb.AssignmentSet
	from []*orchpb.Replica
}

func readNodeSet(st *store.Store, nodeID string) nodeSet {
	set := nodeSet{AssignmentSet: &orchpb.AssignmentSet{Index: st.Index(), NodeId: nodeID}}
	for _, rep := range st.Replicas(store.ReplicaFilter{Node: nodeID}) {
		if !assigned(rep) {
			continue
		}
		set.from = append(set.from, rep)
		set.Assignments = append(set.Assignments, &orchpb.Assignment{
			Replica: &orchpb.Replica{
				Id:           rep.GetId(),
				Namespace:    rep.GetNamespace(),
				Service:      rep.GetService(),
				Slot:         rep.GetSlot(),
				Name:         rep.GetName(),
				Node:         rep.GetNode(),
				DesiredState: rep.GetDesiredState(),
				Generation:   rep.GetGeneration(),
				Resources:    rep.GetResources(),
				HostPorts:    rep.GetHostPorts(),
				Devices:      rep.GetDevices(),
				// Each container's own limits, which the agent enforces.
				ContainerResources: rep.GetContainerResources(),
			},
			Spec:    rep.GetSpec(),
			Started: rep.GetStartedAt() != 0,
			Volumes: slotVolumes(st, rep),
		})
	}
	set.Volumes, set.VolumesListed = nodeVolumes(st, nodeID), true
	return set
}
