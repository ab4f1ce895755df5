package agent

import (
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// TestWorkerCountsRecreation: a replica the master has heard start, whose
// container is gone and whose saved state was wiped with it (`make stop`
// runs `orchd dev --cleanup`), is a restart: counted, so the master shows
// it and derives an event. A new replica is not.
func TestWorkerCountsRecreation(t *testing.T) {
	for _, c := range []struct {
		name    string
		started bool
		want    int32
	}{{"started before", true, 1}, {"new", false, 0}} {
		t.Run(c.name, func(t *testing.T) {
			env := testEnv(t, newFakeRuntime())
			asg := assignment("r-"+map[bool]string{true: "old", false: "new"}[c.started], orchpb.RestartAlways, 0)
			asg.Spec.Health = nil
			asg.Started = c.started
			w := runWorker(t, env, asg)
			st := await(t, w, "running", func(st *orchpb.ReplicaStatus) bool { return st.State == string(orchpb.ReplicaRunning) })
			if st.Restarts != c.want {
				t.Fatalf("restarts %d, want %d", st.Restarts, c.want)
			}
		})
	}
}
