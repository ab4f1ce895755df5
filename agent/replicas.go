package agent

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/orch-io/orch/api"

	"github.com/orch-io/orch/agent/runtime"
	orchpb "github.com/orch-io/orch/proto"
)

// replicaSet is the node's replicas: a worker for each one assigned, the
// last status of those stopped until a report carries it, and the
// containers an earlier agent process left until a worker claims them.
//
// Threading: every method is safe for concurrent use. Workers are started
// with the ctx given to apply and counted until wait returns.
type replicaSet struct {
	env *workerEnv
	log *slog.Logger

	mu       sync.Mutex
	workers  map[string]*replicaWorker
	finished map[string]*orchpb.ReplicaStatus // stopped replicas not yet reported
	adopted  map[string]runtime.ContainerInfo // containers found at start, not yet claimed
	haveSet  bool                             // an assignment set has been applied
	wg       sync.WaitGroup                   // running workers
}

// newReplicaSet starts from the containers an earlier agent process left
// (adopted); env must be set before the first apply.
func newReplicaSet(adopted []runtime.ContainerInfo, log *slog.Logger) *replicaSet {
	s := &replicaSet{
		log:      log,
		workers:  map[string]*replicaWorker{},
		finished: map[string]*orchpb.ReplicaStatus{},
		adopted:  make(map[string]runtime.ContainerInfo, len(adopted)),
	}
	for _, info := range adopted {
		s.adopted[info.ID] = info
	}
	if len(adopted) > 0 {
		log.Info("found containers from an earlier run", "count", len(adopted))
	}
	return s
}

// apply makes the running workers match the set: new assignments get a
// worker, workers whose replica left the set are stopped.
func (s *replicaSet) apply(ctx context.Context, set *orchpb.AssignmentSet) {
	want := make(map[string]*orchpb.Assignment, len(set.GetAssignments()))
	for _, asg := range set.GetAssignments() {
		// The id names the replica's files (state, logs, /etc files).
		if err := api.CheckPathName("replica id", asg.GetReplica().GetId()); err != nil {
			s.log.Warn("ignoring an assignment", "err", err)
			continue
		}
		if asg.GetReplica().Desired() == orchpb.DesiredRunning {
			want[asg.GetReplica().GetId()] = asg
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ctx.Err() != nil {
		// The agent is stopping: its workers leave their containers
		// running for the next agent process, and one that has left is
		// gone from the map. A set that arrives now must not start a
		// fresh worker for its replica, which would not adopt the
		// running container but start it again. Checked under the lock
		// that workerDone takes, after the worker saw ctx end.
		return
	}
	s.haveSet = true
	for id, w := range s.workers {
		if _, ok := want[id]; !ok {
			w.requestStop()
		}
	}
	for id, asg := range want {
		if w, ok := s.workers[id]; ok {
			// Running, or re-assigned while it was being stopped: then
			// the stop finishes and a later set starts it again.
			w.setSecretData(asg.GetSecretData())
			continue
		}
		w := newReplicaWorker(s.env, asg, s.claim(id), s.claimExtra(asg))
		s.workers[id] = w
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			w.run(ctx)
			s.workerDone(w)
		}()
	}
}

// claim takes the container an earlier agent process left under id, if
// any. The caller holds s.mu.
func (s *replicaSet) claim(id string) *containerRef {
	info, ok := s.adopted[id]
	if !ok {
		return nil
	}
	delete(s.adopted, id)
	return &containerRef{taskStatus: info.TaskStatus, pid: info.PID}
}

// claimExtra takes the sidecars and init containers of asg's replica an
// earlier agent process left, by name. The caller holds s.mu.
func (s *replicaSet) claimExtra(asg *orchpb.Assignment) map[string]*containerRef {
	spec := asg.GetSpec()
	if !spec.HasExtraContainers() {
		return nil
	}
	out := map[string]*containerRef{}
	for _, list := range [][]*orchpb.ReplicaContainerSpec{spec.GetInit(), spec.GetSidecars()} {
		for _, c := range list {
			if ref := s.claim(extraContainerID(asg.GetReplica().GetId(), c.GetName())); ref != nil {
				out[c.GetName()] = ref
			}
		}
	}
	return out
}

// workerDone forgets a finished worker; a stopped replica's last status is
// kept until a report carries it to the master.
func (s *replicaSet) workerDone(w *replicaWorker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.workers[w.id] == w {
		delete(s.workers, w.id)
	}
	if w.stopping() {
		s.finished[w.id] = w.status()
	}
	s.env.report.changed()
}

// wait returns once every worker has returned. Call it after the last
// apply, with the workers' ctx ended.
func (s *replicaSet) wait() { s.wg.Wait() }

// runs says whether replica id has a worker on this node.
func (s *replicaSet) runs(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.workers[id]
	return ok
}

// container resolves a container of a replica that has a worker here
// (containerID); ok is false when there is none.
func (s *replicaSet) container(replicaID, name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.workers[replicaID]
	if !ok {
		return "", false
	}
	return containerID(w.asg, name)
}

// statuses returns every replica's status for a report, and the ids of the
// stopped ones in it, to pass to reported once it has been delivered.
func (s *replicaSet) statuses() (all []*orchpb.ReplicaStatus, finished []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all = make([]*orchpb.ReplicaStatus, 0, len(s.workers)+len(s.finished))
	for _, w := range s.workers {
		all = append(all, w.status())
	}
	finished = make([]string, 0, len(s.finished))
	for id, st := range s.finished {
		all = append(all, st)
		finished = append(finished, id)
	}
	return all, finished
}

// reported forgets the stopped replicas a delivered report carried.
func (s *replicaSet) reported(finished []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range finished {
		delete(s.finished, id)
	}
}

// volumesInUse are the persistent volumes (by RelDir) that a replica of
// this node mounts, stopping ones included.
func (s *replicaSet) volumesInUse() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]bool{}
	for _, w := range s.workers {
		for _, v := range w.asg.GetVolumes() {
			out[filepath.FromSlash(v.RelDir())] = true
		}
	}
	return out
}

// wantedImages are the images of every assigned replica, as containerd
// names them: never collected, even before their container exists.
func (s *replicaSet) wantedImages() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bool, len(s.workers))
	for _, w := range s.workers {
		for _, ref := range containerImages(w.asg.GetSpec()) {
			if name, err := runtime.ImageName(ref); err == nil {
				out[name] = true
			}
		}
	}
	return out
}
