package events

import orchpb "github.com/orch-io/orch/proto"

// containerRestarts are r's sidecars' and init containers' restart counts.
func containerRestarts(r *orchpb.Replica) map[string]int32 {
	if len(r.GetContainers()) == 0 {
		return nil
	}
	out := make(map[string]int32, len(r.GetContainers()))
	for _, c := range r.GetContainers() {
		out[c.GetName()] = c.GetRestarts()
	}
	return out
}

// containerEvents says which of r's sidecars and init containers ran
// again since prev (their restart counts then): a sidecar's crash or a
// failed init container's retry, which leave the replica's own state and
// restarts alone.
func containerEvents(r *orchpb.Replica, prev map[string]int32, emit func(format string, args ...any)) {
	for _, c := range r.GetContainers() {
		if c.GetRestarts() > prev[c.GetName()] {
			emit("%s %s restarted after exit %d (%d restarts)", c.GetKind(), c.GetName(), c.GetExitCode(), c.GetRestarts())
		}
	}
}
