package controllers

import (
	"context"
	"fmt"

	orchpb "github.com/orch-io/orch/proto"
)

// A canary rollout (update.canary: N) replaces slots 1..N first; the
// other slots keep what they run (replicated.go: waitsForPromotion). Once
// the N canaries are ready the update controller pauses the rollout for a
// decision: `rollout promote` clears the canary stage and the rollout goes
// on as usual, `rollout abort` rolls back (the replicas still on the
// previous generation are kept). With update.autoPromote the controller
// promotes by itself once every canary has been healthy that long.

// autoPromoting: svc waits for promotion and promotes itself.
func autoPromoting(svc *orchpb.Service) bool {
	u := svc.GetUpdate()
	return svc != nil && u.GetGeneration() == svc.GetGeneration() && u.RolloutState() == orchpb.UpdatePaused &&
		u.GetCanary() > 0 && svc.GetSpec().GetUpdate().GetAutoPromote() != nil
}

// canaryPausedMessage is the paused rollout's message while its canaries
// wait for a decision.
func canaryPausedMessage(svc *orchpb.Service) string {
	u := svc.GetUpdate()
	msg := fmt.Sprintf("canary: %d/%d replicas of generation %d healthy; waiting for promotion", u.GetCanary(), svc.GetSpec().GetReplicas(), svc.GetGeneration())
	if ap := svc.GetSpec().GetUpdate().GetAutoPromote(); ap != nil {
		msg += fmt.Sprintf(" (automatic after %s healthy)", ap.AsDuration())
	}
	return msg
}

// pauseForPromotion records that the canaries are ready: the rollout
// pauses until promoted or aborted.
func (c *UpdateController) pauseForPromotion(ctx context.Context, svc *orchpb.Service) error {
	u := svc.GetUpdate()
	st := &orchpb.UpdateStatus{Generation: svc.GetGeneration(), State: string(orchpb.UpdatePaused), FromGeneration: u.GetFromGeneration(),
		StartedIndex: u.GetStartedIndex(), Canary: u.GetCanary(), Message: canaryPausedMessage(svc)}
	c.log.Info("canaries ready; rollout paused for promotion", "service", key(svc), "generation", svc.GetGeneration(), "canary", u.GetCanary())
	return c.setStatus(ctx, svc, st)
}

// maybePromote promotes a paused canary stage once every canary has been
// ready for update.minHealthy + update.autoPromote.
func (c *UpdateController) maybePromote(ctx context.Context, svc *orchpb.Service, reps []*orchpb.Replica) error {
	ro := rolloutOf(svc)
	wait := policyOf(svc.GetSpec()).minHealthy + svc.GetSpec().GetUpdate().GetAutoPromote().AsDuration()
	ready := map[int32]bool{}
	for _, rep := range reps {
		if rep.Desired() == orchpb.DesiredRunning && ro.current(rep) && rep.GetSlot() <= ro.canary && c.ready.Ready(rep, wait) {
			ready[rep.GetSlot()] = true
		}
	}
	if int32(len(ready)) < ro.canary {
		return nil
	}
	c.log.Info("canaries promoted automatically", "service", key(svc), "generation", svc.GetGeneration())
	return c.setStatus(ctx, svc, Promoted(svc, fmt.Sprintf("canaries promoted after %s healthy", svc.GetSpec().GetUpdate().GetAutoPromote().AsDuration())))
}

// Promoted is the status of svc's rollout once its canaries are promoted:
// in progress again, for every slot.
func Promoted(svc *orchpb.Service, why string) *orchpb.UpdateStatus {
	u := svc.GetUpdate()
	return &orchpb.UpdateStatus{Generation: svc.GetGeneration(), State: string(orchpb.UpdateUpdating), FromGeneration: u.GetFromGeneration(),
		StartedIndex: u.GetStartedIndex(), Message: why}
}
