package store

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// ReplicaFilter selects replicas; empty fields match everything.
type ReplicaFilter struct {
	Namespace, Service, Node string
}

// Replica returns the replica with this id, or nil.
func (s *Store) Replica(id string) *orchpb.Replica {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.replicas[id]
}

// ReplicaByName returns the replica users call displayName ("hello.2") in
// namespace. Several records can share a name while one replaces another;
// the live one wins: desired running before stopped, then the newest.
func (s *Store) ReplicaByName(namespace, displayName string) *orchpb.Replica {
	dot := strings.LastIndexByte(displayName, '.')
	if dot <= 0 {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var best *orchpb.Replica
	for id := range s.byService[svcKey{namespace, displayName[:dot]}] {
		r := s.replicas[id]
		if r.DisplayName() != displayName {
			continue
		}
		if best == nil || liveFirst(r, best) {
			best = r
		}
	}
	return best
}

func liveFirst(a, b *orchpb.Replica) bool {
	ar, br := a.Desired() != orchpb.DesiredStopped, b.Desired() != orchpb.DesiredStopped
	if ar != br {
		return ar
	}
	if a.GetCreateIndex() != b.GetCreateIndex() {
		return a.GetCreateIndex() > b.GetCreateIndex()
	}
	return a.GetId() > b.GetId()
}

// Replicas lists the replicas matching f, sorted by namespace, service,
// slot, create_index (then id).
func (s *Store) Replicas(f ReplicaFilter) []*orchpb.Replica {
	match := func(r *orchpb.Replica) bool {
		return (f.Namespace == "" || r.Namespace == f.Namespace) &&
			(f.Service == "" || r.Service == f.Service) &&
			(f.Node == "" || r.Node == f.Node)
	}
	var out []*orchpb.Replica
	s.mu.RLock()
	// Walk the smallest index that covers the filter.
	var ids map[string]struct{}
	indexed := true
	switch {
	case f.Namespace != "" && f.Service != "":
		ids = s.byService[svcKey{f.Namespace, f.Service}]
	case f.Node != "":
		ids = s.byNode[f.Node]
	default:
		indexed = false
	}
	if indexed {
		out = make([]*orchpb.Replica, 0, len(ids))
		for id := range ids {
			if r := s.replicas[id]; match(r) {
				out = append(out, r)
			}
		}
	} else {
		out = make([]*orchpb.Replica, 0, len(s.replicas))
		for _, r := range s.replicas {
			if match(r) {
				out = append(out, r)
			}
		}
	}
	s.mu.RUnlock()
	sortReplicas(out)
	return out
}

func sortReplicas(list []*orchpb.Replica) {
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		switch {
		case a.Namespace != b.Namespace:
			return a.Namespace < b.Namespace
		case a.Service != b.Service:
			return a.Service < b.Service
		case a.Slot != b.Slot:
			return a.Slot < b.Slot
		case a.CreateIndex != b.CreateIndex:
			return a.CreateIndex < b.CreateIndex
		}
		return a.Id < b.Id
	})
}

// counts reports whether r takes resources on its node: placed, meant to
// run and not finished. Anything but an explicit "stopped" desire counts,
// so a replica written without a desired state can never over-commit.
func counts(r *orchpb.Replica) bool {
	return r != nil && r.Node != "" && r.Desired() != orchpb.DesiredStopped && !r.Terminal()
}

func contribution(r *orchpb.Replica) amounts {
	if !counts(r) {
		return amounts{}
	}
	return amounts{r.GetResources().GetCpuMillis(), r.GetResources().GetMemoryBytes()}
}

// storeReplica stores r (a fresh object the store owns), replacing any
// record with its id, and keeps indexes and allocation current.
func (s *Store) storeReplica(r *orchpb.Replica) {
	old := s.replicas[r.Id]
	if old != nil {
		s.unindexReplica(old)
	}
	s.countRunEnd(old, r)
	s.replicas[r.Id] = r
	s.indexReplica(r)
	s.emit(EventPut, KindReplica, r)
}

func (s *Store) removeReplica(r *orchpb.Replica) {
	s.unindexReplica(r)
	delete(s.replicas, r.Id)
	s.emit(EventDelete, KindReplica, r)
}

func (s *Store) indexReplica(r *orchpb.Replica) {
	addToSet(s.byService, svcKey{r.Namespace, r.Service}, r.Id)
	if r.Node != "" {
		addToSet(s.byNode, r.Node, r.Id)
		if c := contribution(r); c != (amounts{}) {
			s.alloc[r.Node] = s.alloc[r.Node].add(c)
			s.dirtyNodes[r.Node] = struct{}{}
		}
	}
}

func (s *Store) unindexReplica(r *orchpb.Replica) {
	removeFromSet(s.byService, svcKey{r.Namespace, r.Service}, r.Id)
	if r.Node != "" {
		removeFromSet(s.byNode, r.Node, r.Id)
		if c := contribution(r); c != (amounts{}) {
			a := s.alloc[r.Node].sub(c)
			if a == (amounts{}) {
				delete(s.alloc, r.Node)
			} else {
				s.alloc[r.Node] = a
			}
			s.dirtyNodes[r.Node] = struct{}{}
		}
	}
}

func addToSet[K comparable](m map[K]map[string]struct{}, k K, id string) {
	set := m[k]
	if set == nil {
		set = map[string]struct{}{}
		m[k] = set
	}
	set[id] = struct{}{}
}

func removeFromSet[K comparable](m map[K]map[string]struct{}, k K, id string) {
	if set := m[k]; set != nil {
		delete(set, id)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

func (s *Store) putReplicas(index uint64, c *orchpb.PutReplicas) *orchpb.CommandResult {
	for i, r := range c.GetReplicas() {
		if r.GetId() == "" {
			return fail(index, orchpb.ResultInvalid, "put replicas: replica %d has no id", i)
		}
	}
	res := &orchpb.CommandResult{}
	reject := func(id, format string, args ...any) {
		if res.Rejected == nil {
			res.Rejected = map[string]string{}
		}
		res.Rejected[id] = fmt.Sprintf(format, args...)
	}
	// Active runs per job, counted at most once per command.
	var jobActive map[svcKey]int32
	for _, in := range c.GetReplicas() {
		old := s.replicas[in.Id]
		if want := c.GetExpectedVersions()[in.Id]; want != 0 && want != old.GetVersion() {
			if old == nil {
				reject(in.Id, "version conflict: expected version %d, but replica %s does not exist", want, in.Id)
			} else {
				reject(in.Id, "version conflict: expected version %d, stored version %d", want, old.Version)
			}
			continue
		}
		if in.Namespace == "" || in.Service == "" {
			reject(in.Id, "invalid: replica %s needs namespace and service", in.Id)
			continue
		}
		if old == nil && in.Desired() != orchpb.DesiredStopped && s.services[svcKey{in.Namespace, in.Service}] == nil {
			// The plan was made before the service was deleted.
			reject(in.Id, "service %s/%s not found", in.Namespace, in.Service)
			continue
		}
		if reason := s.placementProblem(old, in); reason != "" {
			reject(in.Id, "%s", reason)
			continue
		}
		if old == nil && in.GetSpec().IsJob() && in.Desired() != orchpb.DesiredStopped {
			key := svcKey{in.Namespace, in.Service}
			if jobActive == nil {
				jobActive = map[svcKey]int32{}
			}
			active, ok := jobActive[key]
			if !ok {
				active = s.activeRuns(key)
			}
			if reason := jobRoom(s.services[key], active); reason != "" {
				reject(in.Id, "%s", reason)
				continue
			}
			jobActive[key] = active + 1
		}
		r := in // the store owns the command (see Apply)
		if r.Name == "" {
			r.Name = r.Service + "." + strconv.Itoa(int(r.Slot))
		}
		r.Version = index
		r.CreateIndex = index
		if old != nil {
			r.CreateIndex = old.CreateIndex
		}
		r.Spec = s.sharedSpec(old, r)
		s.storeReplica(r)
		s.bindVolumes(index, r)
	}
	return res
}

// placementProblem re-checks a replica write against the state it is
// applied to (the plan may have been made on a stale view) and says why it
// must be refused, or "" if it fits.
func (s *Store) placementProblem(old, r *orchpb.Replica) string {
	if r.Node == "" {
		return ""
	}
	node := s.nodes[r.Node]
	moved := old == nil || old.Node != r.Node
	if moved {
		if node == nil {
			return fmt.Sprintf("node %s not found", r.Node)
		}
		if node.Status() != orchpb.NodeReady {
			return fmt.Sprintf("node %s is %s, not ready", node.Name, node.State)
		}
		if why := s.volumeProblem(r); why != "" && counts(r) {
			return why
		}
	}
	var before amounts
	if !moved {
		before = contribution(old)
	}
	after := contribution(r)
	if after.cpu > before.cpu || after.mem > before.mem {
		if node == nil {
			return fmt.Sprintf("node %s not found", r.Node)
		}
		a := s.alloc[r.Node].sub(before).add(after)
		capacity := node.GetCapacity()
		if c := capacity.GetCpuMillis(); c > 0 && a.cpu > c {
			return fmt.Sprintf("node %s has not enough cpu: %dm allocated, %dm more requested, capacity %dm",
				node.Name, s.alloc[r.Node].cpu-before.cpu, after.cpu, c)
		}
		if c := capacity.GetMemoryBytes(); c > 0 && a.mem > c {
			return fmt.Sprintf("node %s has not enough memory: %s allocated, %s more requested, capacity %s",
				node.Name, bytesText(s.alloc[r.Node].mem-before.mem), bytesText(after.mem), bytesText(c))
		}
	}
	if counts(r) && len(r.Devices) > 0 && s.speaks(ProtocolScheduling) {
		if why := s.deviceProblem(r); why != "" {
			return why
		}
	}
	if counts(r) && len(r.HostPorts) > 0 {
		for _, id := range sortedKeys(s.byNode[r.Node]) {
			other := s.replicas[id]
			if id == r.Id || !counts(other) {
				continue
			}
			for _, p := range r.HostPorts {
				for _, q := range other.HostPorts {
					if p == q && p != 0 {
						return fmt.Sprintf("host port %d on node %s is taken by %s (%s)", p, r.Node, other.DisplayName(), other.Id)
					}
				}
			}
		}
	}
	return ""
}

func bytesText(n int64) string {
	if n != 0 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + "Mi"
	}
	return strconv.FormatInt(n, 10) + "B"
}

func (s *Store) deleteReplicas(c *orchpb.DeleteReplicas) *orchpb.CommandResult {
	for _, id := range c.GetIds() {
		if r := s.replicas[id]; r != nil {
			s.removeReplica(r)
		}
	}
	return &orchpb.CommandResult{}
}

func (s *Store) reportReplicaStatus(index uint64, c *orchpb.ReportReplicaStatus) *orchpb.CommandResult {
	node := c.GetNodeId()
	if node == "" {
		return fail(index, orchpb.ResultInvalid, "report replica status: node_id is required")
	}
	if s.nodes[node] == nil {
		// A removed node's agent must not bring its lost replicas back.
		return &orchpb.CommandResult{}
	}
	s.recordNodeTrust(node, c.GetCaDigest(), c.GetCertIssuer())
	for _, st := range c.GetStatuses() {
		r := s.replicas[st.GetId()]
		if !StatusIsNews(r, node, st) {
			continue
		}
		nr := CopyReplica(r)
		nr.State = st.State
		nr.Ip = st.Ip
		nr.Restarts = st.Restarts
		nr.ExitCode = st.ExitCode
		nr.Message = st.Message
		nr.StartedAt = st.StartedAt
		nr.Containers = st.Containers
		nr.Version = index
		s.storeReplica(nr)
	}
	return &orchpb.CommandResult{}
}

// StatusIsNews reports whether node's report st would change replica r (nil
// if unknown), exactly as ReportReplicaStatus applies it. The dispatcher
// asks before proposing, so that a cluster at rest writes nothing.
func StatusIsNews(r *orchpb.Replica, node string, st *orchpb.ReplicaStatus) bool {
	switch {
	case r == nil || r.GetNode() != node:
		return false // an agent reports only its own replicas
	case r.Observed() == orchpb.ReplicaLost:
		// Lost is the masters' verdict and final: the replica may have been
		// replaced already, so a late report must not revive it. Its agent
		// stops it, since no assignment set lists it.
		return false
	case r.GetSpec().IsJob():
		if ended, _ := r.RunEnded(); ended {
			// A job run's end is final: it was counted, and a report after
			// it (an agent that restarted) must change nothing.
			return false
		}
	}
	return r.Observed() != st.Observed() || r.GetIp() != st.GetIp() || r.GetRestarts() != st.GetRestarts() ||
		r.GetExitCode() != st.GetExitCode() || r.GetMessage() != st.GetMessage() || r.GetStartedAt() != st.GetStartedAt() ||
		!containersEqual(r.GetContainers(), st.GetContainers())
}

// containersEqual compares the sidecars' and init containers' statuses.
func containersEqual(a, b []*orchpb.ContainerStatus) bool {
	return slices.EqualFunc(a, b, func(x, y *orchpb.ContainerStatus) bool { return proto.Equal(x, y) })
}
