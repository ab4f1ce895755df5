package apiserver

import (
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// withStatus fills in a service's status from its replicas and its latest
// rollout. The counts are derived, not replicated: writing them through
// Raft on every replica change would double the write load for values any
// master can compute. The rollout's state is replicated (Service.update),
// so every master tells the same story.
func withStatus(st *store.Store, svc *orchpb.Service) *orchpb.Service {
	spec := svc.GetSpec()
	status := &orchpb.ServiceStatus{}
	if svc.GetStatus() != nil {
		status = proto.Clone(svc.GetStatus()).(*orchpb.ServiceStatus)
	}
	status.Desired, status.Running, status.Healthy, status.Updating, status.Updated = 0, 0, 0, false, 0
	if spec.GetMode() != orchpb.ModeGlobal {
		status.Desired = spec.GetReplicas()
	}
	// A global service wants one replica per node it runs on (two may run
	// on one node while a new generation replaces the old).
	globalNodes := map[string]bool{}
	for _, rep := range st.Replicas(store.ReplicaFilter{Namespace: spec.GetNamespace(), Service: spec.GetName()}) {
		if rep.Desired() != orchpb.DesiredRunning {
			continue
		}
		current := rep.GetGeneration() == svc.GetGeneration() ||
			(svc.GetUpdate().GetKeptGeneration() != 0 && rep.GetGeneration() == svc.GetUpdate().GetKeptGeneration())
		if spec.GetMode() == orchpb.ModeGlobal && rep.GetNode() != "" && !rep.Terminal() && !globalNodes[rep.GetNode()] {
			globalNodes[rep.GetNode()] = true
			status.Desired++
		}
		if !current {
			status.Updating = true
		}
		switch rep.Observed() {
		case orchpb.ReplicaRunning:
			status.Running++
			status.Healthy++
			if current && st.Node(rep.GetNode()).Status() != orchpb.NodeDraining {
				status.Updated++
			}
		case orchpb.ReplicaUnhealthy:
			status.Running++
		}
	}
	if u := svc.GetUpdate(); u.GetGeneration() == svc.GetGeneration() {
		status.UpdateState = u.GetState()
		status.Message = u.GetMessage()
		status.Canary = u.GetCanary()
		if u.RolloutState().InProgress() {
			status.Updating = true
		} else {
			status.LastUpdateResult = u.GetState()
		}
	}
	c := store.CopyService(svc)
	c.Status = status
	return c
}
