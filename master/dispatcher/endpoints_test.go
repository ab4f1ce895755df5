package dispatcher

import (
	"slices"
	"testing"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

func TestEndpointsPublishOnlyAddressedLiveReplicas(t *testing.T) {
	rep := func(id string, desired orchpb.DesiredState, state orchpb.ReplicaState, ip string) *orchpb.Replica {
		return &orchpb.Replica{Id: id, Namespace: "default", Service: "hello", Slot: 1, Node: "n1", DesiredState: string(desired), State: string(state), Ip: ip}
	}
	st := store.New()
	st.Restore(&orchpb.StateSnapshot{Index: 7, Replicas: []*orchpb.Replica{
		rep("running", orchpb.DesiredRunning, orchpb.ReplicaRunning, "10.244.1.2"),
		rep("unhealthy", orchpb.DesiredRunning, orchpb.ReplicaUnhealthy, "10.244.1.3"),
		rep("starting", orchpb.DesiredRunning, orchpb.ReplicaStarting, "10.244.1.4"),
		rep("lost", orchpb.DesiredRunning, orchpb.ReplicaLost, "10.244.1.5"),
		rep("stopping", orchpb.DesiredStopped, orchpb.ReplicaRunning, "10.244.1.6"),
		rep("no-ip", orchpb.DesiredRunning, orchpb.ReplicaRunning, ""),
		rep("failed", orchpb.DesiredRunning, orchpb.ReplicaFailed, "10.244.1.7"),
	}})
	got := Endpoints(st)
	var ids []string
	for id := range got {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if want := []string{"running", "unhealthy"}; !slices.Equal(ids, want) {
		t.Fatalf("published %v, want %v", ids, want)
	}
	if ep := got["unhealthy"]; ep.Observed() != orchpb.ReplicaUnhealthy || ep.GetIp() != "10.244.1.3" || ep.GetNodeId() != "n1" {
		t.Fatalf("endpoint = %v", ep)
	}
}
