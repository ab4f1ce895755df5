package store

import (
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// sharedSpec is the spec replica r should hold: an equal one the store
// holds already (its service's current or previous spec, or what the
// replica held before) when there is one, else its own. Each replica of a
// PutReplicas command or a snapshot decodes its own copy of its service's
// spec; keeping them all held 150,000 copies of 1,000 specs on every
// master, a third of the leader's heap. Stored specs are never changed (see
// copy.go), so sharing one is safe, and the choice depends only on the
// state and the command, so every master makes the same.
func (s *Store) sharedSpec(old, r *orchpb.Replica) *orchpb.ServiceSpec {
	spec := r.GetSpec()
	if spec == nil {
		return nil
	}
	var candidates [3]*orchpb.ServiceSpec
	if svc := s.services[svcKey{r.GetNamespace(), r.GetService()}]; svc != nil {
		candidates[0], candidates[1] = svc.GetSpec(), svc.GetPreviousSpec()
	}
	candidates[2] = old.GetSpec()
	for _, c := range candidates {
		if c == spec {
			return c
		}
	}
	for _, c := range candidates {
		if c != nil && proto.Equal(c, spec) {
			return c
		}
	}
	return spec
}
