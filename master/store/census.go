package store

import orchpb "github.com/orch-io/orch/proto"

// Census is a count of the store's objects, for metrics: taken under one
// read lock, without copying any object.
type Census struct {
	// Objects by kind: service, replica, node, image, master, token,
	// secret, config.
	Objects map[string]int
	// ReplicasByState counts replicas by their observed state ("" is not
	// reported yet); NodesByState nodes by status.
	ReplicasByState map[string]int
	NodesByState    map[string]int
	// Unplaced counts replicas meant to run that have no node.
	Unplaced int
}

// Census counts the store's objects.
func (s *Store) Census() Census {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := Census{
		Objects: map[string]int{
			"service": len(s.services), "replica": len(s.replicas), "node": len(s.nodes), "image": len(s.images),
			"master": len(s.masters), "token": len(s.tokens), "secret": len(s.secrets), "config": len(s.configs),
		},
		ReplicasByState: map[string]int{},
		// Every node state is reported, 0 included, so a dashboard sees
		// "no node down" rather than nothing.
		NodesByState: map[string]int{
			string(orchpb.NodeReady): 0, string(orchpb.NodeDown): 0, string(orchpb.NodeCordoned): 0, string(orchpb.NodeDraining): 0,
		},
	}
	for _, r := range s.replicas {
		c.ReplicasByState[r.GetState()]++
		if r.GetNode() == "" && r.Desired() == orchpb.DesiredRunning {
			c.Unplaced++
		}
	}
	for _, n := range s.nodes {
		c.NodesByState[n.GetState()]++
	}
	return c
}
