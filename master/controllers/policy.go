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
