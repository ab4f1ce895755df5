package agent

import (
	"context"
	"time"

	"github.com/orch-io/orch/agent/runtime"
)

// strayCheckInterval is how often the agent looks for containers in its
// namespace that no assignment explains.
const strayCheckInterval = 5 * time.Second

// runStrayCheck removes strays every strayCheckInterval until ctx ends.
func (s *replicaSet) runStrayCheck(ctx context.Context, rt runtime.Runtime, net Network) {
	every(ctx, strayCheckInterval, func() { s.removeStrays(ctx, rt, net) })
}

// removeStrays deletes containers in the agent's namespace that no worker
// owns, and their network namespaces: leftovers of replicas removed while
// the agent was down, or containers someone started by hand. It only runs
// once the agent knows its assignments, so a restart cut off from the
// masters removes nothing.
func (s *replicaSet) removeStrays(ctx context.Context, rt runtime.Runtime, net Network) {
	s.mu.Lock()
	ready := s.haveSet
	s.mu.Unlock()
	if !ready {
		return
	}
	infos, err := rt.List(ctx)
	if err != nil {
		s.log.Warn("list containers", "err", err)
		return
	}
	var strays []runtime.ContainerInfo
	s.mu.Lock()
	for _, info := range infos {
		if _, ok := s.workers[ownerOf(info)]; !ok {
			strays = append(strays, info)
		}
		delete(s.adopted, info.ID)
	}
	s.mu.Unlock()
	for _, c := range strays {
		s.log.Info("removing a container no assignment explains", "container", c.ID)
		if err := rt.Delete(ctx, c.ID); err != nil {
			s.log.Warn("remove stray container", "container", c.ID, "err", err)
		}
	}
	for _, id := range net.Attached() {
		// A worker registers itself before it sets up its network, so
		// checking the map now cannot race with a replica being born.
		if !s.runs(id) {
			if err := net.Teardown(ctx, id); err != nil {
				s.log.Warn("remove stray network namespace", "replica", id, "err", err)
			}
		}
	}
}

// ownerOf is the replica a container belongs to: the one its label names
// (a sidecar's or init container's id is not the replica's), else its id.
func ownerOf(info runtime.ContainerInfo) string {
	if id := info.Labels[labelReplica]; id != "" {
		return id
	}
	return info.ID
}
