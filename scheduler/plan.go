package scheduler

import orchpb "github.com/orch-io/orch/proto"

// Input is a read-only view of the cluster the plan is made on. Schedule
// never modifies it.
type Input struct {
	// Nodes are all nodes, with Capacity set and State one of ready, down,
	// draining, cordoned. Only ready nodes receive replicas.
	Nodes []*orchpb.Node
	// Replicas are the replicas that hold resources (desired running,
	// non-terminal) with Node set to a node id, and the devices they hold. The caller decides what
	// holds resources; Schedule counts every one listed here, except those
	// whose id is also in a Request (the request supersedes them).
	Replicas []*orchpb.Replica
	// FromAllocated takes the resources held on each node from the node's
	// Allocated (kept current by the store) instead of summing Replicas.
	// Replicas must then list only what Allocated cannot tell: the
	// replicas that publish host ports or hold devices, those of the
	// requested services (for spread and maxPerNode) and those of the
	// services their affinity or antiAffinity names, none of them also
	// counted elsewhere.
	// It saves a pass over every replica of the cluster on each plan.
	FromAllocated bool
}

// Request asks to place the pending replicas of one service.
type Request struct {
	// Spec supplies placement (constraints, spreadBy, strategy,
	// maxPerNode, affinity, antiAffinity, devices) and the service
	// identity (namespace, name).
	Spec *orchpb.ServiceSpec
	// Replicas are the replicas to place, with Resources and HostPorts set.
	// A replica whose Node is already set is pinned: it is checked against
	// that node only (how the global controller places one per node).
	Replicas []*orchpb.Replica
	// Volumes pin slots, by slot number, to the node holding their
	// persistent volume (volumes.go).
	Volumes map[int32]VolumePin
}

// Placement puts one replica on one node.
type Placement struct {
	ReplicaID string
	NodeID    string
}

// Unplaced is a replica no node could take, with the reason in the words
// users read.
type Unplaced struct {
	ReplicaID string
	Reason    string
}

// Plan is the result of Schedule. Placements and Unplaced follow the order
// of the requests and, inside a request, of its replicas grouped by their
// requirements, so the same input always gives the same plan.
type Plan struct {
	Placements []Placement
	Unplaced   []Unplaced
	// Devices are the node's device paths each placed replica holds, by
	// replica id, one group per name its spec asks for; only replicas
	// that ask for devices have an entry (kept apart so that a plan of
	// 150,000 placements stays small).
	Devices map[string][]*orchpb.DeviceGroup
}

// addDevices records the devices a placement took.
func (p *Plan) addDevices(replicaID string, devs []*orchpb.DeviceGroup) {
	if len(devs) == 0 {
		return
	}
	if p.Devices == nil {
		p.Devices = map[string][]*orchpb.DeviceGroup{}
	}
	p.Devices[replicaID] = devs
}
