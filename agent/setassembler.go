package agent

import (
	"fmt"
	"slices"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
)

// setAssembler rebuilds the whole assignment set from a delta stream
// (master/dispatcher/deltastream.go): it checks that messages come in
// sequence, applies each change to a new copy of the set, and remembers
// the digest of what it holds so that the next stream, to any master, can
// begin from it instead of the whole set. It is not safe for concurrent
// use; one goroutine follows a node's stream.
type setAssembler struct {
	set    *orchpb.AssignmentSet
	seq    uint64
	digest uint64
	// discardPeers drops the peer list as it arrives: a caller with no
	// overlay (the hollow agent) that asks for peers only so that the
	// masters' fan-out is measured would otherwise spend O(nodes) on
	// every node change, and a fleet in one process O(nodes²).
	discardPeers bool
}

// begin readies the assembler for a new stream, whose messages count
// from 1; since is what to ask the master to begin from (0: the whole set).
func (a *setAssembler) begin() (since uint64) {
	a.seq = 0
	if a.set == nil {
		return 0
	}
	return a.digest
}

// forget drops what the assembler holds: the next stream begins with the
// whole set.
func (a *setAssembler) forget() {
	a.set, a.seq, a.digest = nil, 0, 0
}

// apply takes the stream's next message and answers the whole set after
// it. An error (a gap in the sequence, a delta with nothing to apply it
// to, a resume on a set the agent does not hold) means the stream must be
// opened again; the set held so far stays as it was.
func (a *setAssembler) apply(msg *orchpb.AssignmentSet) (*orchpb.AssignmentSet, error) {
	if msg.GetSeq() != a.seq+1 {
		seq := a.seq
		a.forget()
		return nil, fmt.Errorf("assignment stream: message %d after %d: out of sequence, resyncing", msg.GetSeq(), seq)
	}
	a.seq = msg.GetSeq()
	if !msg.GetDelta() {
		set := &orchpb.AssignmentSet{Index: msg.GetIndex(), NodeId: msg.GetNodeId(), Assignments: msg.GetAssignments(),
			Peers: msg.GetPeers(), Volumes: msg.GetVolumes(), VolumesListed: msg.GetVolumesListed(),
			CaBundlePem: msg.GetCaBundlePem(), RenewUnlessIssuer: msg.GetRenewUnlessIssuer()}
		if a.discardPeers {
			set.Peers = nil
		}
		sortSet(set)
		a.set, a.digest = set, msg.GetDigest()
		return set, nil
	}
	if a.set == nil {
		return nil, fmt.Errorf("assignment stream: a change (message %d) before any whole set", msg.GetSeq())
	}
	if msg.GetSeq() == 1 && msg.GetDigest() != a.digest {
		a.forget()
		return nil, fmt.Errorf("assignment stream: resumed on set %016x, but this node holds %016x: resyncing", msg.GetDigest(), a.digest)
	}
	a.digest = msg.GetDigest()
	if isKeepalive(msg) || (a.discardPeers && onlyPeers(msg)) {
		return a.set, nil
	}
	a.set = changedSet(a.set, msg)
	if a.discardPeers {
		a.set.Peers = nil
	}
	return a.set, nil
}

func isKeepalive(msg *orchpb.AssignmentSet) bool {
	return len(msg.GetAssignments()) == 0 && len(msg.GetRemoved()) == 0 && len(msg.GetPeers()) == 0 &&
		len(msg.GetPeersRemoved()) == 0 && !msg.GetVolumesListed() && msg.GetCaBundlePem() == ""
}

func onlyPeers(msg *orchpb.AssignmentSet) bool {
	return len(msg.GetAssignments()) == 0 && len(msg.GetRemoved()) == 0 && !msg.GetVolumesListed() && msg.GetCaBundlePem() == ""
}

// changedSet is prev with the delta's changes, as a new set: callers keep
// the previous one to compare with.
func changedSet(prev, delta *orchpb.AssignmentSet) *orchpb.AssignmentSet {
	next := &orchpb.AssignmentSet{Index: prev.GetIndex(), NodeId: prev.GetNodeId(), Volumes: prev.GetVolumes(), VolumesListed: prev.GetVolumesListed(),
		CaBundlePem: prev.GetCaBundlePem(), RenewUnlessIssuer: prev.GetRenewUnlessIssuer()}
	if delta.GetCaBundlePem() != "" {
		next.CaBundlePem, next.RenewUnlessIssuer = delta.GetCaBundlePem(), delta.GetRenewUnlessIssuer()
	}
	if delta.GetIndex() != 0 {
		next.Index = delta.GetIndex()
	}
	drop := map[string]bool{}
	for _, id := range delta.GetRemoved() {
		drop[id] = true
	}
	for _, asg := range delta.GetAssignments() {
		drop[asg.GetReplica().GetId()] = true
	}
	for _, asg := range prev.GetAssignments() {
		if !drop[asg.GetReplica().GetId()] {
			next.Assignments = append(next.Assignments, asg)
		}
	}
	next.Assignments = append(next.Assignments, delta.GetAssignments()...)
	dropPeer := map[string]bool{}
	for _, id := range delta.GetPeersRemoved() {
		dropPeer[id] = true
	}
	for _, p := range delta.GetPeers() {
		dropPeer[p.GetId()] = true
	}
	for _, p := range prev.GetPeers() {
		if !dropPeer[p.GetId()] {
			next.Peers = append(next.Peers, p)
		}
	}
	next.Peers = append(next.Peers, delta.GetPeers()...)
	if delta.GetVolumesListed() {
		next.Volumes, next.VolumesListed = delta.GetVolumes(), true
	}
	sortSet(next)
	return next
}

// sortSet orders assignments and peers by id, so that one set reads the
// same however it was assembled.
func sortSet(set *orchpb.AssignmentSet) {
	slices.SortFunc(set.Assignments, func(x, y *orchpb.Assignment) int {
		return strings.Compare(x.GetReplica().GetId(), y.GetReplica().GetId())
	})
	slices.SortFunc(set.Peers, func(x, y *orchpb.Node) int { return strings.Compare(x.GetId(), y.GetId()) })
}
