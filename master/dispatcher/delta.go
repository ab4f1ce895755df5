package dispatcher

import (
	"strconv"

	orchpb "github.com/orch-io/orch/proto"
)

// deltaState is what one delta stream has sent its agent, so that the next
// message carries only the difference: the hash of each assignment, of the
// volume list, and how far the shared peer table has been followed. It
// keeps no copy of the set; at thousands of streams that matters.
type deltaState struct {
	node      string
	withPeers bool
	seq       uint64
	// assigned: replica id -> hash of the assignment as sent.
	assigned     map[string]uint64
	assignDigest uint64
	volumes      uint64
	trust        uint64
	peers        peerCursor
	peerDigest   uint64
}

func newDeltaState(node string, withPeers bool) *deltaState {
	return &deltaState{node: node, withPeers: withPeers}
}

// digest names the whole set the agent holds after the last message. The
// shape term keeps a set with peers apart from the same set without.
func (s *deltaState) digest() uint64 {
	shape := hashBytes(hashShape, []byte(s.node+"\x00"+strconv.FormatBool(s.withPeers)))
	return s.assignDigest ^ s.volumes ^ s.trust ^ s.peerDigest ^ shape
}

// whole is the first message of a stream: the whole set cur (read without
// peers) and, when the stream carries them, every peer.
func (s *deltaState) whole(cur *orchpb.AssignmentSet, peers peerChanges) *orchpb.AssignmentSet {
	s.assigned = make(map[string]uint64, len(cur.GetAssignments()))
	s.assignDigest = 0
	for _, a := range cur.GetAssignments() {
		h := hashMessage(hashAssignment, a)
		s.assigned[a.GetReplica().GetId()] = h
		s.assignDigest ^= h
	}
	s.volumes = hashVolumeList(cur.GetVolumes())
	s.trust = hashTrust(cur)
	msg := &orchpb.AssignmentSet{
		Index: cur.GetIndex(), NodeId: s.node, Assignments: cur.GetAssignments(),
		Volumes: cur.GetVolumes(), VolumesListed: true,
		CaBundlePem: cur.GetCaBundlePem(), RenewUnlessIssuer: cur.GetRenewUnlessIssuer(),
	}
	if s.withPeers {
		msg.Peers = peers.put
		s.peers, s.peerDigest = peers.cursor, peers.digest
	}
	return s.stamp(msg)
}

// next is the message that brings the agent from what was sent to cur and
// peers, or nil when nothing changed. A stream whose peer position was
// lost (peers.full) sends the whole set again.
func (s *deltaState) next(cur *orchpb.AssignmentSet, peers peerChanges) *orchpb.AssignmentSet {
	if s.withPeers && peers.full {
		return s.whole(cur, peers)
	}
	msg := &orchpb.AssignmentSet{Index: cur.GetIndex(), NodeId: s.node, Delta: true}
	seen := make(map[string]bool, len(cur.GetAssignments()))
	for _, a := range cur.GetAssignments() {
		id := a.GetReplica().GetId()
		seen[id] = true
		h := hashMessage(hashAssignment, a)
		old, ok := s.assigned[id]
		if ok && old == h {
			continue
		}
		s.assignDigest ^= old ^ h
		s.assigned[id] = h
		msg.Assignments = append(msg.Assignments, a)
	}
	for id, h := range s.assigned {
		if !seen[id] {
			s.assignDigest ^= h
			delete(s.assigned, id)
			msg.Removed = append(msg.Removed, id)
		}
	}
	if h := hashVolumeList(cur.GetVolumes()); h != s.volumes {
		s.volumes = h
		msg.Volumes, msg.VolumesListed = cur.GetVolumes(), true
	}
	if h := hashTrust(cur); h != s.trust {
		s.trust = h
		msg.CaBundlePem, msg.RenewUnlessIssuer = cur.GetCaBundlePem(), cur.GetRenewUnlessIssuer()
	}
	if s.withPeers {
		msg.Peers, msg.PeersRemoved = peers.put, peers.removed
		s.peers, s.peerDigest = peers.cursor, peers.digest
	}
	if len(msg.Assignments) == 0 && len(msg.Removed) == 0 && !msg.VolumesListed && len(msg.Peers) == 0 && len(msg.PeersRemoved) == 0 && msg.CaBundlePem == "" {
		return nil
	}
	return s.stamp(msg)
}

// nextPeers is the message for peer changes alone (the node's own set
// unchanged), or nil when there are none.
func (s *deltaState) nextPeers(peers peerChanges) *orchpb.AssignmentSet {
	s.peers, s.peerDigest = peers.cursor, peers.digest
	if len(peers.put) == 0 && len(peers.removed) == 0 {
		return nil
	}
	return s.stamp(&orchpb.AssignmentSet{NodeId: s.node, Delta: true, Peers: peers.put, PeersRemoved: peers.removed})
}

// keepalive is an empty delta: it proves the stream alive and costs a few
// bytes.
func (s *deltaState) keepalive() *orchpb.AssignmentSet {
	return s.stamp(&orchpb.AssignmentSet{Delta: true})
}

func (s *deltaState) stamp(msg *orchpb.AssignmentSet) *orchpb.AssignmentSet {
	s.seq++
	msg.Seq, msg.Digest = s.seq, s.digest()
	return msg
}

func hashVolumeList(vols []*orchpb.Volume) uint64 {
	return hashMessage(hashVolumes, &orchpb.AssignmentSet{Volumes: vols, VolumesListed: true})
}

// hashTrust covers the CAs a node must trust and its renewal time; a
// delta carries both whenever either changed.
func hashTrust(set *orchpb.AssignmentSet) uint64 {
	return hashMessage(hashTrustKind, &orchpb.AssignmentSet{CaBundlePem: set.GetCaBundlePem(), RenewUnlessIssuer: set.GetRenewUnlessIssuer()})
}
