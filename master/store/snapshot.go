package store

import (
	"sort"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// Snapshot returns the whole state at Index(), each table sorted so that
// equal states give equal snapshots. The objects in it are shared with the
// store (see Store): marshal it, do not modify it. It is cheap (no deep
// copy), so the FSM can take it between two applies and persist it while
// later applies run.
func (s *Store) Snapshot() *orchpb.StateSnapshot {
	s.mu.RLock()
	snap := &orchpb.StateSnapshot{
		Index:    s.index,
		Services: make([]*orchpb.Service, 0, len(s.services)),
		Replicas: make([]*orchpb.Replica, 0, len(s.replicas)),
		Nodes:    make([]*orchpb.Node, 0, len(s.nodes)),
		Images:   make([]*orchpb.Image, 0, len(s.images)),
		Config:   s.config,
		Masters:  make([]*orchpb.Master, 0, len(s.masters)),
		Tokens:   s.tokenList(),
		Secrets:  values(s.secrets),
		Configs:  values(s.configs),
		Volumes:  values(s.volumes),
	}
	for _, v := range s.services {
		snap.Services = append(snap.Services, v)
	}
	for _, v := range s.replicas {
		snap.Replicas = append(snap.Replicas, v)
	}
	for _, v := range s.nodes {
		snap.Nodes = append(snap.Nodes, v)
	}
	for _, v := range s.images {
		snap.Images = append(snap.Images, v)
	}
	for _, v := range s.masters {
		snap.Masters = append(snap.Masters, v)
	}
	s.mu.RUnlock()
	sortSecrets(snap.Secrets)
	sortConfigs(snap.Configs)
	sortVolumes(snap.Volumes)
	sortMasters(snap.Masters)
	sortServices(snap.Services)
	sortReplicas(snap.Replicas)
	sort.Slice(snap.Nodes, func(i, j int) bool { return snap.Nodes[i].Id < snap.Nodes[j].Id })
	sort.Slice(snap.Images, func(i, j int) bool { return snap.Images[i].Name < snap.Images[j].Name })
	return snap
}

// Restore replaces the whole state with snap. Derived state (indexes, node
// allocation, the subnet map) is rebuilt rather than trusted. The watch
// ring restarts at snap.Index: open watches are closed, since what they
// missed cannot be told as events, and watching from before snap.Index
// gives ErrCompacted. Restore takes ownership of snap's objects and must not
// run concurrently with Apply.
func (s *Store) Restore(snap *orchpb.StateSnapshot) {
	s.mu.Lock()
	s.reset()
	s.index = snap.GetIndex()
	for _, v := range snap.GetServices() {
		if v.GetSpec().GetNamespace() == "" || v.GetSpec().GetName() == "" {
			continue
		}
		s.services[svcKey{v.Spec.Namespace, v.Spec.Name}] = v
	}
	for _, v := range snap.GetNodes() {
		if v.GetId() == "" {
			continue
		}
		// Allocation is recomputed below; the object is shared with snap, so
		// replace rather than modify it.
		n := proto.Clone(v).(*orchpb.Node)
		n.Allocated = nil
		s.nodes[n.Id] = n
		s.nodeByName[n.Name] = n.Id
		if n.Subnet != "" {
			s.subnets[n.Subnet] = n.Id
		}
	}
	s.reorderNodes()
	for _, v := range snap.GetReplicas() {
		if v.GetId() == "" {
			continue
		}
		v.Spec = s.sharedSpec(nil, v) // the store owns snap's objects
		s.replicas[v.Id] = v
		s.indexReplica(v)
	}
	for _, v := range snap.GetImages() {
		if v.GetName() != "" {
			s.images[v.Name] = v
		}
	}
	s.config = snap.GetConfig()
	for _, v := range snap.GetMasters() {
		if v.GetId() != "" {
			s.masters[v.Id] = v
		}
	}
	for _, v := range snap.GetTokens() {
		s.restoreToken(v)
	}
	for _, v := range snap.GetSecrets() {
		if v.GetNamespace() != "" && v.GetName() != "" {
			s.secrets[svcKey{v.Namespace, v.Name}] = v
		}
	}
	for _, v := range snap.GetConfigs() {
		if v.GetNamespace() != "" && v.GetName() != "" {
			s.configs[svcKey{v.Namespace, v.Name}] = v
		}
	}
	for _, v := range snap.GetVolumes() {
		if v.GetNamespace() != "" && v.GetService() != "" && v.GetName() != "" {
			s.volumes[keyOfVolume(v)] = v
			s.volumeByIndex[v.GetCreateIndex()] = keyOfVolume(v)
		}
	}
	for id, n := range s.nodes {
		a := s.alloc[id]
		n.Allocated = &orchpb.ResourceAmounts{CpuMillis: a.cpu, MemoryBytes: a.mem}
	}
	clear(s.dirtyNodes)
	s.ring.restart(s.index)
	s.mu.Unlock()
	s.notify()
}
