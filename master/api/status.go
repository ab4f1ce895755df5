package api

import (
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// withStatus fills in a service's status from its replicas. The status is
// derived, not replicated: writing it through Raft on every replica change
// would double the write load for a value any master can compute.
func withStatus(st *store.Store, svc *orchpb.Service) *orchpb.Service {
	spec := svc.GetSpec()
	status := &orchpb.ServiceStatus{}
	if svc.GetStatus() != nil {
		status = proto.Clone(svc.GetStatus()).(*orchpb.ServiceStatus)
	}
	status.Desired, status.Running, status.Healthy, status.Updating = 0, 0, 0, false
	if spec.GetMode() != orchpb.ModeGlobal {
		status.Desired = spec.GetReplicas()
	}
	for _, rep := range st.Replicas(store.ReplicaFilter{Namespace: spec.GetNamespace(), Service: spec.GetName()}) {
		if rep.GetDesiredState() != orchpb.DesiredRunning {
			continue
		}
		if spec.GetMode() == orchpb.ModeGlobal {
			status.Desired++
		}
		if rep.GetGeneration() != svc.GetGeneration() {
			status.Updating = true
		}
		switch rep.GetState() {
		case orchpb.ReplicaRunning:
			status.Running++
			status.Healthy++
		case orchpb.ReplicaUnhealthy:
			status.Running++
		}
	}
	c := proto.Clone(svc).(*orchpb.Service)
	c.Status = status
	return c
}
