package agent

import (
	"google.golang.org/protobuf/proto"

	orchpb "github.com/orch-io/orch/proto"
)

// A replica's containers: the main one has the replica's id, which is
// what a replica of one container always had; a sidecar or an init
// container is REPLICA.NAME (names are DNS labels without "--", which
// containerd's identifiers allow). Every one carries the replica's id in
// labelReplica, so stray checks and adoption find its owner.

// extraContainerID is containerd's id of a sidecar or init container.
func extraContainerID(replicaID, name string) string { return replicaID + "." + name }

// containerIDs are the ids of all of the replica's containers, the main
// one first.
func (w *replicaWorker) containerIDs() []string {
	spec := w.asg.GetSpec()
	ids := make([]string, 0, 1+len(spec.GetInit())+len(spec.GetSidecars()))
	ids = append(ids, w.id)
	for _, c := range spec.GetInit() {
		ids = append(ids, extraContainerID(w.id, c.GetName()))
	}
	for _, c := range spec.GetSidecars() {
		ids = append(ids, extraContainerID(w.id, c.GetName()))
	}
	return ids
}

// containerID resolves a container name of an exec or logs request: ""
// and the main container's name give the replica's id; ok is false for a
// name the replica has no container of.
func containerID(asg *orchpb.Assignment, name string) (id string, ok bool) {
	spec := asg.GetSpec()
	replica := asg.GetReplica().GetId()
	if name == "" || name == spec.MainContainerName() {
		return replica, true
	}
	for _, list := range [][]*orchpb.ReplicaContainerSpec{spec.GetInit(), spec.GetSidecars()} {
		for _, c := range list {
			if c.GetName() == name {
				return extraContainerID(replica, name), true
			}
		}
	}
	return "", false
}

// savedContainer is what survives an agent restart of a sidecar's or init
// container's status.
type savedContainer struct {
	Name      string `json:"name"`
	State     string `json:"state"`
	Restarts  int32  `json:"restarts,omitempty"`
	ExitCode  int32  `json:"exitCode,omitempty"`
	StartedAt int64  `json:"startedAt,omitempty"`
}

// initialContainers are the statuses of the spec's extra containers, as
// the saved state left them or waiting.
func initialContainers(spec *orchpb.ServiceSpec, saved []savedContainer) []*orchpb.ContainerStatus {
	byName := make(map[string]savedContainer, len(saved))
	for _, s := range saved {
		byName[s.Name] = s
	}
	var out []*orchpb.ContainerStatus
	add := func(kind string, cs []*orchpb.ReplicaContainerSpec) {
		for _, c := range cs {
			st := &orchpb.ContainerStatus{Name: c.GetName(), Kind: kind, State: string(orchpb.ContainerWaiting)}
			if s, ok := byName[c.GetName()]; ok {
				st.State, st.Restarts, st.ExitCode, st.StartedAt = s.State, s.Restarts, s.ExitCode, s.StartedAt
			}
			out = append(out, st)
		}
	}
	add(orchpb.ContainerKindInit, spec.GetInit())
	add(orchpb.ContainerKindSidecar, spec.GetSidecars())
	return out
}

func saveContainers(cs []*orchpb.ContainerStatus) []savedContainer {
	if len(cs) == 0 {
		return nil
	}
	out := make([]savedContainer, len(cs))
	for i, c := range cs {
		out[i] = savedContainer{Name: c.Name, State: c.State, Restarts: c.Restarts, ExitCode: c.ExitCode, StartedAt: c.StartedAt}
	}
	return out
}

func cloneContainers(cs []*orchpb.ContainerStatus) []*orchpb.ContainerStatus {
	if len(cs) == 0 {
		return nil
	}
	out := make([]*orchpb.ContainerStatus, len(cs))
	for i, c := range cs {
		out[i] = proto.Clone(c).(*orchpb.ContainerStatus)
	}
	return out
}

// setContainer changes one extra container's status and reports it.
func (w *replicaWorker) setContainer(name string, fn func(c *orchpb.ContainerStatus)) {
	w.update(func(st *orchpb.ReplicaStatus) {
		for _, c := range st.Containers {
			if c.Name == name {
				fn(c)
				return
			}
		}
	})
}

// containerImages are the images every container of a spec runs.
func containerImages(spec *orchpb.ServiceSpec) []string {
	refs := []string{spec.GetImage()}
	for _, list := range [][]*orchpb.ReplicaContainerSpec{spec.GetInit(), spec.GetSidecars()} {
		for _, c := range list {
			refs = append(refs, c.GetImage())
		}
	}
	return refs
}

// containerStartedAt is when an extra container's task last started.
func (w *replicaWorker) containerStartedAt(name string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.st.Containers {
		if c.Name == name {
			return c.StartedAt
		}
	}
	return 0
}
