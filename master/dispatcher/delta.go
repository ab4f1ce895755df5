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
	// assigned: replica id -> the assignment as sent.
	assigned     map[string]sentAssignment
	assignDigest uint64
	volumes      uint64
	// trust is the hash of the CA bundle and renewal issuer sent, and
	// trustSent what it hashed: one compare per wake, a hash only when the
	// CA phase changed.
	trust      uint64
	trustSent  [2]string
	shape      uint64
	peers      peerCursor
	peerDigest uint64
}

// sentAssignment is an assignment as a stream sent it: its hash and, when
// the hash depends on that alone, the stored replica it was built from.
type sentAssignment struct {
	hash uint64
	from *orchpb.Replica
}

// hashAssignment is a's hash, taken from was when a was built from the
// same stored replica as was and nothing outside the replica went into it
// (a slot's volumes and the secret values are read from other objects).
// During a placement a node's set changes once per replica placed or
// started, so encoding every assignment at every change cost the masters
// a tenth of their CPU.
func hashAssignment(a *orchpb.Assignment, from *orchpb.Replica, was sentAssignment) sentAssignment {
	if len(a.GetVolumes()) > 0 || len(a.GetSecretData()) > 0 {
		return sentAssignment{hash: hashMessage(hashAssignmentKind, a)}
	}
	if from != nil && was.from == from {
		return was
	}
	return sentAssignment{hash: hashMessage(hashAssignmentKind, a), from: from}
}

func newDeltaState(node string, withPeers bool) *deltaState {
	// The shape term keeps a set with peers apart from the same set
	// without.
	shape := hashBytes(hashShape, []byte(node+"\x00"+strconv.FormatBool(withPeers)))
	return &deltaState{node: node, withPeers: withPeers, shape: shape}
}

// digest names the whole set the agent holds after the last message.
func (s *deltaState) digest() uint64 {
	return s.assignDigest ^ s.volumes ^ s.trust ^ s.peerDigest ^ s.shape
}

// whole is the first message of a stream: the whole set cur (read without
// peers) and, when the stream carries them, every peer.
func (s *deltaState) whole(cur nodeSet, peers peerChanges) *orchpb.AssignmentSet {
	was := s.assigned
	s.assigned = make(map[string]sentAssignment, len(cur.GetAssignments()))
	s.assignDigest = 0
	for i, a := range cur.GetAssignments() {
		id := a.GetReplica().GetId()
		sent := hashAssignment(a, cur.from[i], was[id])
		s.assigned[id] = sent
		s.assignDigest ^= sent.hash
	}
	s.volumes = hashVolumeList(cur.GetVolumes())
	s.trust, s.trustSent = hashTrust(cur.AssignmentSet), trustOf(cur.AssignmentSet)
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
func (s *deltaState) next(cur nodeSet, peers peerChanges) *orchpb.AssignmentSet {
	if s.withPeers && peers.full {
		return s.whole(cur, peers)
	}
	msg := &orchpb.AssignmentSet{Index: cur.GetIndex(), NodeId: s.node, Delta: true}
	seen := make(map[string]bool, len(cur.GetAssignments()))
	for i, a := range cur.GetAssignments() {
		id := a.GetReplica().GetId()
		seen[id] = true
		old, ok := s.assigned[id]
		sent := hashAssignment(a, cur.from[i], old)
		if ok && old.hash == sent.hash {
			if sent != old {
				s.assigned[id] = sent // the same, from a newer copy
			}
			continue
		}
		s.assignDigest ^= old.hash ^ sent.hash
		s.assigned[id] = sent
		msg.Assignments = append(msg.Assignments, a)
	}
	for id, sent := range s.assigned {
		if !seen[id] {
			s.assignDigest ^= sent.hash
			delete(s.assigned, id)
			msg.Removed = append(msg.Removed, id)
		}
	}
	if h := hashVolumeList(cur.GetVolumes()); h != s.volumes {
		s.volumes = h
		msg.Volumes, msg.VolumesListed = cur.GetVolumes(), true
	}
	if t := trustOf(cur.AssignmentSet); t != s.trustSent {
		s.trust, s.trustSent = hashTrust(cur.AssignmentSet), t
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

func trustOf(set *orchpb.AssignmentSet) [2]string {
	return [2]string{set.GetCaBundlePem(), set.GetRenewUnlessIssuer()}
}

// hashTrust covers the CAs a node must trust and its renewal time; a
// delta carries both whenever either changed.
func hashTrust(set *orchpb.AssignmentSet) uint64 {
	return hashMessage(hashTrustKind, &orchpb.AssignmentSet{CaBundlePem: set.GetCaBundlePem(), RenewUnlessIssuer: set.GetRenewUnlessIssuer()})
}
