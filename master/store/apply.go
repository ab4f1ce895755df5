package store

import (
	"fmt"
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// Apply applies one committed command at Raft index index and returns its
// result. It is deterministic (no clocks, randomness or I/O, and no
// dependence on map order), so every master that applies the same commands
// reaches the same state. It never panics on bad input: an invalid command
// changes nothing and gives ErrorCode "invalid". A failed command still
// advances Index, because the log entry was consumed.
//
// The store takes cmd: what it stores may share memory with it, so the
// caller must not touch cmd afterwards. (The FSM decodes a fresh command
// from each log entry; copying it again would only cost every master CPU.)
//
// Apply must not be called concurrently with itself or with Restore.
func (s *Store) Apply(index uint64, cmd *orchpb.Command) (res *orchpb.CommandResult) {
	return s.ApplyAt(index, time.Time{}, cmd)
}

// ApplyAt is Apply for a command the leader appended to the log at
// appended: the time its events carry (Event.Time). The time comes from the
// log entry, not a clock, so Apply stays deterministic.
func (s *Store) ApplyAt(index uint64, appended time.Time, cmd *orchpb.Command) (res *orchpb.CommandResult) {
	s.mu.Lock()
	// Events reach watchers and notifiers only after the whole command, so a
	// reader never observes half of it.
	defer func() {
		s.finishApply()
		s.mu.Unlock()
		s.notify()
	}()
	if index <= s.index && s.index != 0 {
		// Raft never re-delivers an index; refusing keeps the watch ring in
		// index order even if a caller does.
		return fail(s.index, orchpb.ResultInvalid, "index %d already applied (store is at %d)", index, s.index)
	}
	s.index = index
	s.appended = appended
	res = s.apply(index, cmd)
	if res == nil {
		res = &orchpb.CommandResult{}
	}
	res.Index = index
	return res
}

func (s *Store) apply(index uint64, cmd *orchpb.Command) *orchpb.CommandResult {
	switch op := cmd.GetOp().(type) {
	case *orchpb.Command_PutService:
		return s.putService(index, op.PutService)
	case *orchpb.Command_DeleteService:
		return s.deleteService(index, op.DeleteService)
	case *orchpb.Command_ScaleService:
		return s.scaleService(index, op.ScaleService)
	case *orchpb.Command_RegisterNode:
		return s.registerNode(index, op.RegisterNode)
	case *orchpb.Command_SetNodeState:
		return s.setNodeState(index, op.SetNodeState)
	case *orchpb.Command_RemoveNode:
		return s.removeNode(index, op.RemoveNode)
	case *orchpb.Command_RollbackService:
		return s.rollbackService(index, op.RollbackService)
	case *orchpb.Command_SetUpdateStatus:
		return s.setUpdateStatus(index, op.SetUpdateStatus)
	case *orchpb.Command_PutReplicas:
		return s.putReplicas(index, op.PutReplicas)
	case *orchpb.Command_DeleteReplicas:
		return s.deleteReplicas(op.DeleteReplicas)
	case *orchpb.Command_ReportReplicaStatus:
		return s.reportReplicaStatus(index, op.ReportReplicaStatus)
	case *orchpb.Command_ReportReplicaStatusBatch:
		for _, r := range op.ReportReplicaStatusBatch.GetReports() {
			// A report without a node is skipped, not the whole batch:
			// one agent's mistake must not drop the others' news.
			if r.GetNodeId() != "" {
				s.reportReplicaStatus(index, r)
			}
		}
		return &orchpb.CommandResult{}
	case *orchpb.Command_PutImage:
		return s.putImage(index, op.PutImage)
	case *orchpb.Command_RotateCa:
		return s.rotateCA(index, op.RotateCa)
	case *orchpb.Command_SetClusterConfig:
		return s.setClusterConfig(op.SetClusterConfig)
	case *orchpb.Command_PutMaster:
		return s.putMaster(op.PutMaster)
	case *orchpb.Command_RemoveMaster:
		return s.removeMaster(op.RemoveMaster)
	case *orchpb.Command_PutToken:
		return s.putToken(op.PutToken)
	case *orchpb.Command_RevokeToken:
		return s.revokeToken(op.RevokeToken)
	case *orchpb.Command_TouchTokens:
		return s.touchTokens(op.TouchTokens)
	case *orchpb.Command_PutSecret:
		return s.putSecret(index, op.PutSecret)
	case *orchpb.Command_DeleteSecret:
		return s.deleteSecret(index, op.DeleteSecret)
	case *orchpb.Command_PutConfig:
		return s.putConfig(index, op.PutConfig)
	case *orchpb.Command_DeleteConfig:
		return s.deleteConfig(index, op.DeleteConfig)
	case *orchpb.Command_DeleteVolumes:
		return s.deleteVolumes(index, op.DeleteVolumes)
	case *orchpb.Command_ReportVolumeUsage:
		return s.reportVolumeUsage(index, op.ReportVolumeUsage)
	case *orchpb.Command_PutJob:
		return s.putJob(index, op.PutJob)
	case *orchpb.Command_FinishJob:
		return s.finishJob(index, op.FinishJob)
	case *orchpb.Command_StartCronJob:
		return s.startCronJob(index, op.StartCronJob)
	case *orchpb.Command_MoveReplicas:
		return s.moveReplicas(index, op.MoveReplicas)
	case nil:
		return fail(index, orchpb.ResultInvalid, "empty command")
	default:
		return fail(index, orchpb.ResultInvalid, "unknown command %T", op)
	}
}

func fail(index uint64, code, format string, args ...any) *orchpb.CommandResult {
	return &orchpb.CommandResult{Index: index, ErrorCode: code, Error: fmt.Sprintf(format, args...)}
}

// emit records a change of the current command; finishApply publishes it.
func (s *Store) emit(typ, kind string, obj proto.Message) {
	s.pending = append(s.pending, Event{Index: s.index, Type: typ, Kind: kind, Object: obj, Time: s.appended})
}

// finishApply refreshes the allocation of nodes the command touched and
// publishes its events. The caller holds mu.
func (s *Store) finishApply() {
	for _, id := range sortedKeys(s.dirtyNodes) {
		s.refreshAllocated(id)
		delete(s.dirtyNodes, id)
	}
	if len(s.pending) > 0 {
		s.ring.append(s.pending)
		clear(s.pending) // the ring holds them now; drop our references
		s.pending = s.pending[:0]
		s.ring.wake()
	}
}
