package store

import (
	"fmt"
	"net/netip"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// DefaultClusterCIDR is the overlay range a new cluster takes when its
// bootstrap names none: 8,192 node subnets of /24 (docs/orchd.md).
const DefaultClusterCIDR = "10.224.0.0/11"

// legacyClusterCIDR is the range of a cluster whose config records none
// (one bootstrapped before the range was recorded). It is not
// DefaultClusterCIDR: replaying such a cluster's log must give its nodes
// the subnets they had, whatever this build's default.
const legacyClusterCIDR = "10.244.0.0/16"

// ClusterCIDR is the cluster's overlay range.
func (s *Store) ClusterCIDR() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.clusterCIDR()
}

func (s *Store) clusterCIDR() string {
	if cidr := s.config.GetClusterCidr(); cidr != "" {
		return cidr
	}
	return legacyClusterCIDR
}

// NodeSubnets answers how many node subnets (/24) the range cidr holds: the
// most nodes a cluster with that range can have.
func NodeSubnets(cidr string) (int, error) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil || !prefix.Addr().Is4() || prefix.Bits() > 24 || prefix.Bits() < 8 {
		return 0, fmt.Errorf("cluster CIDR %q: want an IPv4 range from /8 to /24 (each node takes a /24)", cidr)
	}
	return 1 << (24 - prefix.Bits()), nil
}

func validNodeState(state orchpb.NodeState) bool {
	switch state {
	case orchpb.NodeReady, orchpb.NodeDown, orchpb.NodeDraining, orchpb.NodeCordoned:
		return true
	}
	return false
}

func (s *Store) registerNode(index uint64, c *orchpb.RegisterNode) *orchpb.CommandResult {
	in := c.GetNode()
	if in.GetName() == "" {
		return fail(index, orchpb.ResultInvalid, "register node: name is required")
	}
	if in.GetState() != "" && !validNodeState(in.Status()) {
		return fail(index, orchpb.ResultInvalid, "register node %s: unknown state %q", in.GetName(), in.GetState())
	}
	// The stored node must share nothing (labels, capacity) with the command.
	in = proto.Clone(in).(*orchpb.Node)
	var n *orchpb.Node
	if id, ok := s.nodeByName[in.GetName()]; ok {
		old := s.nodes[id]
		if in.GetId() != "" && in.GetId() != id {
			return fail(index, orchpb.ResultConflict, "register node %s: it is registered as %s, not %s", in.GetName(), id, in.GetId())
		}
		// A re-registration refreshes what the agent reports about its
		// machine; identity, subnet and operator-set state stay.
		n = proto.Clone(old).(*orchpb.Node)
		n.Labels = in.GetLabels()
		n.Address = in.GetAddress()
		n.Capacity = in.GetCapacity()
		n.AgentAddress = in.GetAgentAddress()
		n.Devices = in.GetDevices()
		if n.Status() == orchpb.NodeDown {
			n.SetStatus(n.Admin())
		}
	} else {
		id := in.GetId()
		if id == "" {
			id = fmt.Sprintf("n%08x", index)
		}
		if other, taken := s.nodes[id]; taken {
			return fail(index, orchpb.ResultConflict, "register node %s: id %s belongs to node %s", in.GetName(), id, other.GetName())
		}
		subnet, err := s.freeSubnet()
		if err != nil {
			return fail(index, orchpb.ResultInvalid, "register node %s: %v", in.GetName(), err)
		}
		n = in
		n.Id = id
		n.Subnet = subnet
		n.CreateIndex = index
		if n.State == "" {
			n.SetStatus(orchpb.NodeReady)
		}
	}
	// Heartbeats live in the leader's memory, never in the replicated state.
	n.LastHeartbeat = 0
	n.Version = index
	s.storeNode(n)
	s.emit(EventPut, KindNode, n)
	return &orchpb.CommandResult{Node: n}
}

// storeNode stores n (a fresh object the store owns) with its current
// allocation and keeps the name and subnet indexes.
func (s *Store) storeNode(n *orchpb.Node) {
	a := s.alloc[n.Id]
	n.Allocated = &orchpb.ResourceAmounts{CpuMillis: a.cpu, MemoryBytes: a.mem}
	s.orderNode(s.nodes[n.Id], n)
	s.nodes[n.Id] = n
	s.nodeByName[n.Name] = n.Id
	if n.Subnet != "" {
		s.subnets[n.Subnet] = n.Id
	}
	delete(s.dirtyNodes, n.Id)
}

// refreshAllocated replaces the stored node if its allocation changed.
func (s *Store) refreshAllocated(id string) {
	n := s.nodes[id]
	if n == nil {
		return
	}
	a := s.alloc[id]
	if n.Allocated != nil && n.Allocated.CpuMillis == a.cpu && n.Allocated.MemoryBytes == a.mem {
		return
	}
	s.storeNode(proto.Clone(n).(*orchpb.Node))
}

// freeSubnet returns the lowest /24 of the cluster CIDR no node holds.
func (s *Store) freeSubnet() (string, error) {
	cidr := s.clusterCIDR()
	n, err := NodeSubnets(cidr)
	if err != nil {
		return "", err
	}
	base := netip.MustParsePrefix(cidr).Masked().Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8
	count := uint32(n)
	for i := s.subnetHint; i < count; i++ {
		v := start + i<<8
		subnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), 0}), 24).String()
		if _, used := s.subnets[subnet]; !used {
			// The caller takes it: everything up to it is taken then.
			s.subnetHint = i + 1
			return subnet, nil
		}
	}
	return "", fmt.Errorf("the cluster range %s is full: all %d node subnets (/24) are taken; "+
		"remove nodes that are gone (orchctl node remove NAME) to free theirs (the range is fixed at bootstrap, orchd master --cluster-cidr)", cidr, n)
}

func (s *Store) setNodeState(index uint64, c *orchpb.SetNodeState) *orchpb.CommandResult {
	old := s.nodes[c.GetNodeId()]
	if old == nil {
		return fail(index, orchpb.ResultNotFound, "node %s not found", c.GetNodeId())
	}
	if !validNodeState(c.Target()) {
		return fail(index, orchpb.ResultInvalid, "node %s: unknown state %q", c.GetNodeId(), c.GetState())
	}
	n := proto.Clone(old).(*orchpb.Node)
	switch {
	case c.Target() == orchpb.NodeDown:
		n.SetStatus(orchpb.NodeDown)
	case c.GetAvailability():
		// Back from down: as the operator left it.
		n.SetStatus(n.Admin())
	default:
		// The operator's choice; it shows at once unless the node is down.
		n.SetAdmin(c.Target())
		if n.Status() != orchpb.NodeDown {
			n.SetStatus(n.Admin())
		}
	}
	n.Version = index
	s.storeNode(n)
	s.emit(EventPut, KindNode, n)
	if n.Status() == orchpb.NodeDown && old.Status() != orchpb.NodeDown {
		// In the same command, so that a replacement can be scheduled the
		// moment the node is seen down, and no reader sees a down node
		// still holding running replicas.
		why := "node " + n.Name + " down"
		if c.GetReason() != "" {
			why += ": " + c.GetReason()
		}
		s.loseReplicas(index, n.Id, why)
	}
	return &orchpb.CommandResult{Node: n}
}

// loseReplicas marks every replica on the node that could still be running
// lost: terminal, so it holds nothing and leaves the node's assignment set.
func (s *Store) loseReplicas(index uint64, nodeID, why string) {
	for _, rid := range sortedKeys(s.byNode[nodeID]) {
		r := s.replicas[rid]
		if r.Terminal() {
			continue
		}
		nr := CopyReplica(r)
		nr.SetObserved(orchpb.ReplicaLost)
		nr.Message = why
		nr.Version = index
		s.storeReplica(nr)
	}
}

func (s *Store) removeNode(index uint64, c *orchpb.RemoveNode) *orchpb.CommandResult {
	id := c.GetNodeId()
	old := s.nodes[id]
	if old == nil {
		return fail(index, orchpb.ResultNotFound, "node %s not found", id)
	}
	delete(s.nodes, id)
	s.unorderNode(old)
	if s.nodeByName[old.Name] == id {
		delete(s.nodeByName, old.Name)
	}
	if s.subnets[old.Subnet] == id {
		delete(s.subnets, old.Subnet)
		s.subnetHint = 0 // a lower one may be free now
	}
	delete(s.dirtyNodes, id)
	s.emit(EventDelete, KindNode, old)
	// The replicas keep their node id so the controllers can tell where
	// they were; lost is terminal, so they no longer count anywhere.
	for _, rid := range sortedKeys(s.byNode[id]) {
		r := s.replicas[rid]
		if r.Observed() == orchpb.ReplicaLost {
			continue
		}
		nr := CopyReplica(r)
		nr.SetObserved(orchpb.ReplicaLost)
		nr.Message = "node " + old.Name + " was removed"
		nr.Version = index
		s.storeReplica(nr)
	}
	return &orchpb.CommandResult{}
}
