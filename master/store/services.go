package store

import (
	"fmt"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

func (s *Store) putService(index uint64, c *orchpb.PutService) *orchpb.CommandResult {
	spec := c.GetSpec()
	if spec.GetNamespace() == "" || spec.GetName() == "" {
		return fail(index, orchpb.ResultInvalid, "put service: spec needs namespace and name")
	}
	if spec.Replicas != nil && spec.GetReplicas() < 0 {
		return fail(index, orchpb.ResultInvalid, "put service %s/%s: replicas %d < 0", spec.GetNamespace(), spec.GetName(), spec.GetReplicas())
	}
	key := svcKey{spec.GetNamespace(), spec.GetName()}
	old := s.services[key]
	if c.IfMatch != nil && c.GetIfMatch() != old.GetVersion() {
		return conflict(index, "service", key.String(), c.GetIfMatch(), old.GetVersion())
	}
	if spec.IsJob() {
		return fail(index, orchpb.ResultInvalid, "put service %s: kind Job is put as a job", key)
	}
	if old.GetSpec().IsJob() {
		return fail(index, orchpb.ResultConflict, "service %s: a job of that name exists", key)
	}
	if msg := s.pinRefs(spec); msg != "" {
		return fail(index, orchpb.ResultInvalid, "%s", msg)
	}
	// The store owns the command (see Apply), so its spec is stored as is.
	var svc *orchpb.Service
	if old == nil {
		svc = &orchpb.Service{Spec: spec, Generation: 1, CreateIndex: index}
		svc.Update = &orchpb.UpdateStatus{Generation: 1, State: string(orchpb.UpdateUpdating), StartedIndex: index}
	} else {
		svc = CopyService(old)
		if specRevised(old.GetSpec(), spec) {
			svc.Generation++
			svc.PreviousSpec = old.GetSpec()
			svc.Update = &orchpb.UpdateStatus{Generation: svc.Generation, State: string(orchpb.UpdateUpdating),
				FromGeneration: old.GetGeneration(), StartedIndex: index}
			if s.speaks(ProtocolCanary) {
				svc.PreviousGeneration = old.GetGeneration()
				svc.Update.Canary = canaryStage(spec)
			}
		}
		svc.Spec = spec
	}
	if u := svc.GetUpdate(); u.RolloutState() == orchpb.UpdateUpdating && u.GetStartedIndex() == index && s.nothingToRollOut(key, spec) {
		// A revision of a service scaled to zero, with nothing of it left
		// running, is rolled out the moment it is stored: there is no
		// replica to replace, and recording the end here spares the update
		// controller a second Raft write for every such change.
		u.SetRolloutState(orchpb.UpdateCompleted)
		u.FinishedIndex = index
		u.Message = fmt.Sprintf("0/0 replicas run generation %d", svc.GetGeneration())
	}
	svc.Version = index
	s.services[key] = svc
	s.emit(EventPut, KindService, svc)
	return &orchpb.CommandResult{}
}

// nothingToRollOut: the spec asks for no replicas and none of the service's
// replicas may still run.
func (s *Store) nothingToRollOut(key svcKey, spec *orchpb.ServiceSpec) bool {
	if spec.GetMode() == orchpb.ModeGlobal || spec.Replicas == nil || spec.GetReplicas() != 0 {
		return false
	}
	for id := range s.byService[key] {
		if r := s.replicas[id]; r != nil && !r.Terminal() {
			return false
		}
	}
	return true
}

// specRevised reports whether b is a new revision of a. The replica count
// is not part of a revision: scaling (by ScaleService or by re-applying a
// manifest with another count) must not start a rolling update nor replace
// the spec that rollback returns to.
func specRevised(a, b *orchpb.ServiceSpec) bool {
	if a.GetReplicas() == b.GetReplicas() {
		return !proto.Equal(a, b)
	}
	a2 := proto.Clone(a).(*orchpb.ServiceSpec)
	b2 := proto.Clone(b).(*orchpb.ServiceSpec)
	a2.Replicas, b2.Replicas = nil, nil
	return !proto.Equal(a2, b2)
}

func conflict(index uint64, kind, name string, want, have uint64) *orchpb.CommandResult {
	if have == 0 {
		return fail(index, orchpb.ResultConflict, "%s %s: version conflict: if_match %d, but it does not exist", kind, name, want)
	}
	if want == 0 {
		return fail(index, orchpb.ResultConflict, "%s %s: version conflict: if_match 0 (must not exist), but it exists at version %d", kind, name, have)
	}
	return fail(index, orchpb.ResultConflict, "%s %s: version conflict: if_match %d, stored version %d", kind, name, want, have)
}

func (s *Store) deleteService(index uint64, c *orchpb.DeleteService) *orchpb.CommandResult {
	key := svcKey{c.GetNamespace(), c.GetName()}
	old := s.services[key]
	if old == nil {
		return fail(index, orchpb.ResultNotFound, "service %s not found", key)
	}
	if c.IfMatch != nil && c.GetIfMatch() != old.GetVersion() {
		return conflict(index, "service", key.String(), c.GetIfMatch(), old.GetVersion())
	}
	s.removeService(index, key, old)
	return &orchpb.CommandResult{}
}

// removeService deletes a service or a job, with the jobs a cron job made.
func (s *Store) removeService(index uint64, key svcKey, old *orchpb.Service) {
	if old.GetSpec().IsCronJob() {
		for _, child := range s.cronChildren(key) {
			s.removeService(index, svcKey{child.GetSpec().GetNamespace(), child.GetSpec().GetName()}, child)
		}
	}
	delete(s.services, key)
	s.emit(EventDelete, KindService, old)
	// Replicas outlive their service until their agents have stopped them:
	// the controller deletes the records then. One never placed has nothing
	// to stop.
	for _, id := range sortedKeys(s.byService[key]) {
		r := s.replicas[id]
		switch {
		case r.GetNode() == "":
			s.removeReplica(r)
		case r.Desired() != orchpb.DesiredStopped:
			nr := CopyReplica(r)
			nr.SetDesired(orchpb.DesiredStopped)
			nr.Version = index
			s.storeReplica(nr)
		}
	}
}

func (s *Store) scaleService(index uint64, c *orchpb.ScaleService) *orchpb.CommandResult {
	key := svcKey{c.GetNamespace(), c.GetName()}
	old := s.services[key]
	if old == nil || old.GetSpec().IsJob() {
		return fail(index, orchpb.ResultNotFound, "service %s not found", key)
	}
	if c.GetReplicas() < 0 {
		return fail(index, orchpb.ResultInvalid, "scale service %s: replicas %d < 0", key, c.GetReplicas())
	}
	svc := CopyService(old)
	if svc.Spec == nil {
		svc.Spec = &orchpb.ServiceSpec{Namespace: key.namespace, Name: key.name}
	} else {
		svc.Spec = proto.Clone(svc.Spec).(*orchpb.ServiceSpec) // changed below
	}
	svc.Spec.Replicas = proto.Int32(c.GetReplicas())
	svc.Version = index
	s.services[key] = svc
	s.emit(EventPut, KindService, svc)
	return &orchpb.CommandResult{}
}

// rollbackService makes the previous spec current as a new generation. The
// replica count stays: rolling back an image must not undo a scale.
func (s *Store) rollbackService(index uint64, c *orchpb.RollbackService) *orchpb.CommandResult {
	key := svcKey{c.GetNamespace(), c.GetName()}
	old := s.services[key]
	if old == nil {
		return fail(index, orchpb.ResultNotFound, "service %s not found", key)
	}
	if g := c.GetIfGeneration(); g != 0 && g != old.GetGeneration() {
		return fail(index, orchpb.ResultConflict, "service %s: rollback of generation %d, but it is at generation %d", key, g, old.GetGeneration())
	}
	if old.GetPreviousSpec() == nil {
		return fail(index, orchpb.ResultInvalid, "service %s has no previous spec to roll back to", key)
	}
	spec := proto.Clone(old.GetPreviousSpec()).(*orchpb.ServiceSpec)
	if old.GetSpec().Replicas != nil && spec.GetMode() != orchpb.ModeGlobal {
		spec.Replicas = proto.Int32(old.GetSpec().GetReplicas())
	}
	svc := CopyService(old)
	svc.PreviousSpec = old.GetSpec()
	svc.Spec = spec
	svc.Generation++
	svc.Version = index
	svc.Update = &orchpb.UpdateStatus{Generation: svc.Generation, State: string(orchpb.UpdateRollingBack), Rollback: true,
		FromGeneration: old.GetGeneration(), StartedIndex: index, Message: c.GetReason()}
	if s.speaks(ProtocolCanary) {
		// The replicas still on the generation rolled back to run this
		// spec already (an aborted canary leaves all but the canaries so):
		// they stay.
		svc.Update.KeptGeneration = old.GetPreviousGeneration()
		svc.PreviousGeneration = old.GetGeneration()
	}
	s.services[key] = svc
	s.emit(EventPut, KindService, svc)
	return &orchpb.CommandResult{}
}

// setUpdateStatus records a rollout's progress or end, only for the
// generation it was decided on: a newer apply has its own rollout.
func (s *Store) setUpdateStatus(index uint64, c *orchpb.SetUpdateStatus) *orchpb.CommandResult {
	key := svcKey{c.GetNamespace(), c.GetName()}
	old := s.services[key]
	if old == nil {
		return fail(index, orchpb.ResultNotFound, "service %s not found", key)
	}
	st := c.GetStatus()
	if st.GetGeneration() != old.GetGeneration() {
		return fail(index, orchpb.ResultConflict, "service %s: update status for generation %d, but it is at generation %d", key, st.GetGeneration(), old.GetGeneration())
	}
	switch st.RolloutState() {
	case orchpb.UpdateUpdating, orchpb.UpdateCompleted, orchpb.UpdatePaused, orchpb.UpdateFailed,
		orchpb.UpdateRollingBack, orchpb.UpdateRolledBack:
	default:
		return fail(index, orchpb.ResultInvalid, "service %s: unknown update state %q", key, st.GetState())
	}
	svc := CopyService(old)
	u := st
	if prev := old.GetUpdate(); prev.GetGeneration() == u.Generation && u.StartedIndex == 0 {
		u.StartedIndex = prev.GetStartedIndex()
	}
	if prev := old.GetUpdate(); prev.GetGeneration() == u.Generation && u.GetCanary() > prev.GetCanary() {
		// A canary stage only ever ends: a controller's pause decided
		// before a promotion must not bring it back.
		return fail(index, orchpb.ResultConflict, "service %s: the canaries of generation %d were promoted", key, u.Generation)
	}
	if prev := old.GetUpdate(); prev.GetGeneration() == u.Generation && s.speaks(ProtocolCanary) {
		// Which replicas a rollback keeps is the rollback's, not the
		// status writer's, to say.
		u.KeptGeneration = prev.GetKeptGeneration()
	}
	u.FinishedIndex = 0
	if !u.RolloutState().InProgress() {
		u.FinishedIndex = index
	}
	svc.Update = u
	svc.Version = index
	s.services[key] = svc
	s.emit(EventPut, KindService, svc)
	return &orchpb.CommandResult{}
}

// canaryStage is the number of canary slots a new revision of spec starts
// with: update.canary, when it leaves slots that wait for the promotion.
func canaryStage(spec *orchpb.ServiceSpec) int32 {
	n := spec.GetUpdate().GetCanary()
	if n <= 0 || spec.GetMode() == orchpb.ModeGlobal {
		return 0
	}
	return min(n, max(spec.GetReplicas(), 1))
}
