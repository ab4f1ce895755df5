package dispatcher

import (
	"fmt"
	"testing"

	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
)

// BenchmarkDeltaAfterAStatusReport is what a node's stream costs the
// master when one of its 30 replicas reports a new state (what a placement
// does once or twice per replica): read the set, compare it with what was
// sent, send nothing. One op is one report and one wake.
func BenchmarkDeltaAfterAStatusReport(b *testing.B) {
	st := nodesStore(b, 1)
	spec, err := manifest.ParseOne([]byte(`{"name": "web", "image": "registry.local/web:1.4.2", "replicas": 30,
		"resources": {"cpu": "100m", "memory": "64Mi"}, "ports": [{"name": "http", "port": 8080}],
		"env": {"MODE": "production", "LOG_LEVEL": "info"}, "placement": {"spreadBy": "zone"}}`))
	if err != nil {
		b.Fatal(err)
	}
	index := uint64(100)
	apply := func(cmd *orchpb.Command) {
		index++
		if res := st.Apply(index, cmd); res.GetErrorCode() != "" {
			b.Fatal(res.GetError())
		}
	}
	apply(&orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{Spec: spec}}})
	svc := st.Service(spec.GetNamespace(), spec.GetName())
	reps := make([]*orchpb.Replica, 30)
	for i := range reps {
		reps[i] = &orchpb.Replica{Id: fmt.Sprint("r", i), Namespace: spec.GetNamespace(), Service: "web", Slot: int32(i + 1), Node: "n0",
			Generation: svc.GetGeneration(), Spec: svc.GetSpec(), Resources: &orchpb.ResourceAmounts{CpuMillis: 100, MemoryBytes: 64 << 20},
			DesiredState: string(orchpb.DesiredRunning), State: string(orchpb.ReplicaAssigned)}
	}
	apply(&orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: reps}}})
	state := newDeltaState("n0", false)
	state.whole(readNodeSet(st, "n0"), peerChanges{})
	states := []string{string(orchpb.ReplicaStarting), string(orchpb.ReplicaRunning)}
	b.ResetTimer()
	for i := range b.N {
		apply(&orchpb.Command{Op: &orchpb.Command_ReportReplicaStatus{ReportReplicaStatus: &orchpb.ReportReplicaStatus{
			NodeId: "n0", Statuses: []*orchpb.ReplicaStatus{{Id: fmt.Sprint("r", i%30), State: states[i/30%2]}}}}})
		if msg := state.next(readNodeSet(st, "n0"), peerChanges{}); msg != nil {
			b.Fatalf("a status report sent assignments %v", ids(msg.GetAssignments()))
		}
	}
}
