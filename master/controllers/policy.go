package controllers

import (
	"time"

	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
)

// policy is a service's update policy, parsed once per pass.
type policy struct {
	surge, unavailable int32
	minHealthy         time.Duration
	deadline           time.Duration
	rollback           bool
}

// defaultDeadline is update.deadline when a spec leaves it out.
var defaultDeadline = manifest.Duration(manifest.DefaultUpdateDeadline, 2*time.Minute)

func policyOf(spec *orchpb.ServiceSpec) policy {
	u := spec.GetUpdate()
	p := policy{
		surge:       manifest.DefaultMaxSurge,
		minHealthy:  manifest.Duration(u.GetMinHealthy(), 0),
		deadline:    manifest.Duration(u.GetDeadline(), defaultDeadline),
		rollback:    u.GetOnFailure() == manifest.OnFailureRollback,
		unavailable: u.GetMaxUnavailable(),
	}
	if u.MaxSurge != nil {
		p.surge = u.GetMaxSurge()
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
	return u.GetGeneration() == svc.GetGeneration() && (u.GetState() == orchpb.UpdatePaused || u.GetState() == orchpb.UpdateFailed)
}
