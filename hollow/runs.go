package hollow

import (
	"hash/fnv"

	orchpb "github.com/orch-io/orch/proto"
)

// runEnd is how a hollow node finishes a job run (a replica of kind Job):
// as soon as it starts, with exit 0, or exit 1 for the fraction
// failureRate of runs. The choice hangs on the run's id, so every report
// of a run tells the same end.
func runEnd(id string, started int64, failureRate float64) *orchpb.ReplicaStatus {
	st := &orchpb.ReplicaStatus{Id: id, State: string(orchpb.ReplicaStopped), Message: "exited 0", StartedAt: started}
	if failureRate > 0 && fraction(id) < failureRate {
		st.State, st.ExitCode, st.Message = string(orchpb.ReplicaFailed), 1, "exited 1"
	}
	return st
}

// fraction maps an id to [0, 1) evenly.
func fraction(id string) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return float64(h.Sum64()>>11) / (1 << 53)
}
