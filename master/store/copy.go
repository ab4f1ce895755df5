package store

import (
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// Copy-on-write copies. The store never changes a stored object in place: a
// change copies the object, sets top-level fields of the copy and stores
// the copy. The copies are shallow (sub-messages, lists and maps are
// shared, never appended to or edited) because a deep copy would duplicate
// a replica's or a service's whole spec on every status change, which the
// apply path of a busy cluster pays on every master. They are written out
// field by field, since going through protoreflect cost followers more than
// a tenth of their CPU under write load; TestCopiesKeepEveryField fails
// when a field is added to the messages but not here. They are exported for
// readers that need a stored object with one field replaced (the API fills
// in a service's derived status).

func CopyService(s *orchpb.Service) *orchpb.Service {
	out := &orchpb.Service{
		Spec:         s.Spec,
		Version:      s.Version,
		Generation:   s.Generation,
		Status:       s.Status,
		PreviousSpec: s.PreviousSpec,
		CreateIndex:  s.CreateIndex,
		Update:       s.Update,

		PreviousGeneration: s.PreviousGeneration,
		Job:                s.Job,
	}
	keepUnknown(out, s)
	return out
}

func CopyReplica(r *orchpb.Replica) *orchpb.Replica {
	out := &orchpb.Replica{
		Id:           r.Id,
		Namespace:    r.Namespace,
		Service:      r.Service,
		Slot:         r.Slot,
		Name:         r.Name,
		Node:         r.Node,
		DesiredState: r.DesiredState,
		State:        r.State,
		Ip:           r.Ip,
		Restarts:     r.Restarts,
		ExitCode:     r.ExitCode,
		Message:      r.Message,
		Generation:   r.Generation,
		Resources:    r.Resources,
		Version:      r.Version,
		CreateIndex:  r.CreateIndex,
		StartedAt:    r.StartedAt,
		HostPorts:    r.HostPorts,
		Spec:         r.Spec,
		Devices:      r.Devices,
		Moving:       r.Moving,

		Containers:         r.Containers,
		ContainerResources: r.ContainerResources,
	}
	keepUnknown(out, r)
	return out
}

// keepUnknown carries fields a newer master wrote that this one does not
// know, so that a copy loses nothing.
func keepUnknown(dst, src proto.Message) {
	if u := src.ProtoReflect().GetUnknown(); len(u) > 0 {
		dst.ProtoReflect().SetUnknown(u)
	}
}
