package controllers

import (
	"time"

	orchpb "github.com/orch-io/orch/proto"
)

// policy is a service's update policy, read once per pass.
type policy struct {
	surge, unavailable int32
	minHealthy         time.Duration
	deadline           time.Duration
	rollback           bool
}

func policyOf(spec *orchpb.ServiceSpec) policy {
	u := spec.GetUpdate()
	p := policy{
		surge:       u.MaxSurgeOrDefault(),
		unavailable: u.MaxUnavailableOrDefault(),
		minHealthy:  u.MinHealthyOrDefault(),
		deadline:    u.DeadlineOrDefault(),
		rollback:    u.OnFailureOrDefault() == orchpb.OnFailureRollback,
	}
	if p.surge <= 0 && p.unavailable <= 0 {
		// Validation refuses this; should it get here, progress beats a
		// rollout that can never take a step.
		p.surge = 1
	}
	return p
}

// halted reports whether svc's current rollout must not take more steps:
// it was paused, or it failed with nothing to roll back to.
func halted(svc *orchpb.Service) bool {
	u := svc.GetUpdate()
	return u.GetGeneration() == svc.GetGeneration() && (u.RolloutState() == orchpb.UpdatePaused || u.RolloutState() == orchpb.UpdateFailed)
}

// rollout is what a service's current rollout lets through in a pass.
type rolloutView struct {
	gen uint64
	// kept is a generation whose replicas run the current spec too (the
	// target of a rollback); 0 if none.
	kept uint64
	// canary is the number of canary slots while the rollout waits for a
	// promotion: only slots 1..canary move to the new generation.
	canary int32
}

func rolloutOf(svc *orchpb.Service) rolloutView {
	r := rolloutView{gen: svc.GetGeneration()}
	if u := svc.GetUpdate(); u.GetGeneration() == r.gen {
		r.kept = u.GetKeptGeneration()
		if u.RolloutState().InProgress() || u.RolloutState() == orchpb.UpdatePaused {
			r.canary = u.GetCanary()
		}
	}
	return r
}

// current: rep runs the spec the service wants now.
func (r rolloutView) current(rep *orchpb.Replica) bool {
	g := rep.GetGeneration()
	return g == r.gen || (r.kept != 0 && g == r.kept)
}

// waitsForPromotion: slot stays on what it runs until the canaries are
// promoted.
func (r rolloutView) waitsForPromotion(slot int32) bool {
	return r.canary > 0 && slot > r.canary
}
