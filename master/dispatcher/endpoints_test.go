package dispatcher

import (
	"slices"
	"testing"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

func TestEndpointsPublishOnlyAddressedLiveReplicas(t *testing.T) {
	rep := func(id, desired, state, ip string) *orchpb.Replica {
		return &orchpb.Replica{Id: id, Namespace: "default", Service: "hello", Slot: 1, Node: "n1", DesiredState: desired, State: state, Ip: ip}
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
	if ep := got["unhealthy"]; ep.GetState() != orchpb.ReplicaUnhealthy || ep.GetIp() != "10.244.1.3" || ep.GetNodeId() != "n1" {
		t.Fatalf("endpoint = %v", ep)
	}
}

func TestDiffEndpoints(t *testing.T) {
	ep := func(id, ip, state string) *orchpb.Endpoint {
		return &orchpb.Endpoint{ReplicaId: id, Service: "hello", Namespace: "default", Ip: ip, State: state}
	}
	set := func(eps ...*orchpb.Endpoint) map[string]*orchpb.Endpoint {
		m := map[string]*orchpb.Endpoint{}
		for _, e := range eps {
			m[e.GetReplicaId()] = e
		}
		return m
	}
	tests := []struct {
		name          string
		before, after map[string]*orchpb.Endpoint
		put, deleted  []string
	}{
		{"nothing", set(), set(), nil, nil},
		{"unchanged", set(ep("a", "1", "running")), set(ep("a", "1", "running")), nil, nil},
		{"added", set(ep("a", "1", "running")), set(ep("a", "1", "running"), ep("b", "2", "running")), []string{"b"}, nil},
		{"state changed", set(ep("a", "1", "running")), set(ep("a", "1", "unhealthy")), []string{"a"}, nil},
		{"removed", set(ep("a", "1", "running"), ep("b", "2", "running")), set(ep("b", "2", "running")), nil, []string{"a"}},
		{"replaced", set(ep("b", "2", "running"), ep("a", "1", "running")), set(ep("d", "4", "running"), ep("c", "3", "running")), []string{"c", "d"}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := DiffEndpoints(tt.before, tt.after)
			var put []string
			for _, e := range u.GetPut() {
				put = append(put, e.GetReplicaId())
			}
			if !slices.Equal(put, tt.put) || !slices.Equal(u.GetDeleted(), tt.deleted) {
				t.Fatalf("put %v deleted %v, want put %v deleted %v", put, u.GetDeleted(), tt.put, tt.deleted)
			}
		})
	}
}
