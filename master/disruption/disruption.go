// Package disruption owns the arithmetic of disruption budgets: how many of
// a service's replicas voluntary moves (drain, updates) may take down now.
// It is pure (no store, clock or I/O), so that the service controller, which
// honours budgets, and orchctl, which explains a waiting drain, count alike.
// It must not decide which replica moves; the controllers do.
package disruption

import orchpb "github.com/orch-io/orch/proto"

// Allowance is how many more of a service's replicas may be taken down
// voluntarily now: desired slots, of which available have a running
// (healthy) replica, under a budget of maxUnavailable. Never negative.
func Allowance(desired, available, maxUnavailable int32) int32 {
	if maxUnavailable < 0 {
		maxUnavailable = 0
	}
	return max(0, available-(desired-maxUnavailable))
}

// Budget is the service's maxUnavailable and whether it has a budget at all.
func Budget(spec *orchpb.ServiceSpec) (maxUnavailable int32, ok bool) {
	d := spec.GetDisruption()
	if d == nil || d.MaxUnavailable == nil {
		return 0, false
	}
	return d.GetMaxUnavailable(), true
}

// Limit is the stricter of a rollout's own maxUnavailable and the
// service's budget: what a voluntary stop-first move may leave
// unavailable.
func Limit(spec *orchpb.ServiceSpec, rolloutUnavailable int32) int32 {
	if b, ok := Budget(spec); ok && b < rolloutUnavailable {
		return b
	}
	return rolloutUnavailable
}

// AvailableSlots counts the slots (1..desired) with a running replica.
func AvailableSlots(reps []*orchpb.Replica, desired int32) int32 {
	seen := map[int32]bool{}
	for _, r := range reps {
		if s := r.GetSlot(); s >= 1 && s <= desired && r.Observed() == orchpb.ReplicaRunning {
			seen[s] = true
		}
	}
	return int32(len(seen))
}
