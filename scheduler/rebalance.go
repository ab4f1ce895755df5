package scheduler

import (
	"cmp"
	"slices"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// Rebalancing: after nodes join or come back, replicas placed while they
// were away crowd the others. Rebalance plans moves that restore spread,
// each one a replica whose replacement Schedule would put on a node
// holding at least two fewer replicas of its service than the replica's
// own: the move is asked of the same placement the service controller
// will make, so what is shown is what happens.

// Move is one replica to move: a replacement placed anew (on To, as
// planned), then the replica stopped.
type Move struct {
	ReplicaID string
	Service   ServiceID
	From, To  string // node ids
}

// RebalanceInput is what Rebalance decides on.
type RebalanceInput struct {
	// Nodes as for Schedule.
	Nodes []*orchpb.Node
	// Replicas are every replica holding resources, with Node, Resources,
	// HostPorts and Devices set; those marked Moving hold resources but
	// no longer count for spread.
	Replicas []*orchpb.Replica
	// Specs are the services to rebalance, in order; global services,
	// those placed by binpack and those with persistent volumes (whose
	// slots stay with their data) are skipped.
	Specs []*orchpb.ServiceSpec
	// Allowance is how many replicas of each service may move now (its
	// disruption budget's allowance less the moves in flight); absent
	// means none.
	Allowance map[ServiceID]int32
}

// Rebalance plans the moves. Only running replicas move, from the node
// with the most replicas of their service (ties: the later node by name,
// then the highest slot), one plan step at a time, so each later step
// sees the earlier moves done.
func Rebalance(in RebalanceInput) []Move {
	reps := slices.Clone(in.Replicas)
	var out []Move
	for _, spec := range in.Specs {
		if spec.GetMode() == orchpb.ModeGlobal || spec.GetPlacement().GetStrategy() == orchpb.StrategyBinpack ||
			len(spec.PersistentVolumes()) > 0 { // its slots stay with their volumes' nodes
			continue
		}
		svc := ServiceID{spec.GetNamespace(), spec.GetName()}
		for left := in.Allowance[svc]; left > 0; left-- {
			m, next, ok := rebalanceStep(in.Nodes, reps, spec, svc)
			if !ok {
				break
			}
			out = append(out, m)
			reps = next
		}
	}
	return out
}

// rebalanceStep plans one move of svc and returns the replicas as they
// will be once it is done.
func rebalanceStep(nodes []*orchpb.Node, reps []*orchpb.Replica, spec *orchpb.ServiceSpec, svc ServiceID) (Move, []*orchpb.Replica, bool) {
	order := map[string]int{}
	for i, n := range newView(Input{Nodes: nodes}, nil).nodes {
		order[n.GetId()] = i
	}
	count := map[string]int32{}
	var mine []*orchpb.Replica
	for _, r := range reps {
		if counted(r, svc) {
			count[r.GetNode()]++
			if r.Observed() == orchpb.ReplicaRunning {
				mine = append(mine, r)
			}
		}
	}
	if len(mine) == 0 {
		return Move{}, nil, false
	}
	from := slices.MaxFunc(mine, func(a, b *orchpb.Replica) int {
		return cmp.Or(cmp.Compare(count[a.GetNode()], count[b.GetNode()]),
			cmp.Compare(order[a.GetNode()], order[b.GetNode()]), cmp.Compare(a.GetSlot(), b.GetSlot()))
	})
	probe := proto.Clone(from).(*orchpb.Replica)
	probe.Id, probe.Node, probe.Devices, probe.Moving = "rebalance-probe", "", nil, false
	in := Input{Nodes: nodes, Replicas: make([]*orchpb.Replica, 0, len(reps))}
	for _, r := range reps {
		if r == from || r.GetMoving() {
			// Still holding resources until it stops, but no longer
			// counting for spread: listed under no service.
			r = proto.Clone(r).(*orchpb.Replica)
			r.Namespace, r.Service = "", ""
		}
		in.Replicas = append(in.Replicas, r)
	}
	plan := Schedule(in, []Request{{Spec: spec, Replicas: []*orchpb.Replica{probe}}})
	if len(plan.Placements) != 1 {
		return Move{}, nil, false
	}
	to := plan.Placements[0].NodeID
	if to == from.GetNode() || count[to]+2 > count[from.GetNode()] {
		return Move{}, nil, false // no node is lighter by two: spread holds
	}
	moving := proto.Clone(from).(*orchpb.Replica)
	moving.Moving = true
	placed := proto.Clone(probe).(*orchpb.Replica)
	placed.Id, placed.Node, placed.Devices = from.GetId()+"-replacement", to, plan.Devices[probe.GetId()]
	placed.SetObserved(orchpb.ReplicaAssigned) // not a candidate to move again
	next := make([]*orchpb.Replica, 0, len(reps)+1)
	for _, r := range reps {
		if r == from {
			r = moving
		}
		next = append(next, r)
	}
	return Move{ReplicaID: from.GetId(), Service: svc, From: from.GetNode(), To: to}, append(next, placed), true
}

// counted: a replica of svc that counts for its spread.
func counted(r *orchpb.Replica, svc ServiceID) bool {
	return r.GetNamespace() == svc.Namespace && r.GetService() == svc.Name && r.GetNode() != "" && !r.GetMoving()
}
