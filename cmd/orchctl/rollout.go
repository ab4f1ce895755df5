package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orch-io/orch/api/client"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
)

func (a *app) rolloutCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout status|promote|abort service NAME",
		Short: "Follow a rolling update; promote or abort its canaries",
	}
	var timeout time.Duration
	status := &cobra.Command{
		Use:   "status service NAME",
		Short: "Follow a service's rolling update with a progress display until it ends",
		Long: `Follow the service's current rollout until it ends. Exits 0 when it
completed, non-zero when it failed, paused or was rolled back (also when a
rollback it was following completes: the update it watched did not make it).
A canary rollout (update.canary) stops being followed, with exit 0, once its
canaries are in and it waits for promote or abort.`,
		Example: "  orchctl rollout status service hello",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := onlyServices("rollout status", args[0]); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			return a.followRollout(ctx, c, args[1])
		},
	}
	status.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (0: wait until the rollout ends)")
	cmd.AddCommand(status, a.canaryCommand("promote"), a.canaryCommand("abort"))
	return cmd
}

func onlyServices(verb, kindName string) error {
	k, err := lookupKind(kindName)
	if err != nil {
		return err
	}
	if k != serviceKind {
		return fmt.Errorf("%s: only services have rollouts, not %s", verb, k.plural)
	}
	return nil
}

// rolloutPoll is how often rollout status looks; a rollout step takes at
// least a status report from an agent, so this is plenty.
const rolloutPoll = 300 * time.Millisecond

func (a *app) followRollout(ctx context.Context, c *client.Client, name string) error {
	last := ""
	sawRollback := false
	for {
		svc, err := c.GetService(ctx, a.namespace, name)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("service/%s: gave up waiting for the rollout: %w", name, ctx.Err())
			}
			return fmt.Errorf("service/%s: %w", name, err)
		}
		st := svc.GetStatus()
		line := progressLine(svc)
		if line != last && !a.structured() {
			fmt.Fprintln(a.stdout, line)
			last = line
		}
		switch st.RolloutState() {
		case orchpb.UpdateRollingBack:
			sawRollback = true
		case orchpb.UpdateUpdating:
			sawRollback = false // someone applied a new spec: follow that
		case orchpb.UpdateCompleted, "":
			if a.structured() {
				if err := a.printObjects([]proto.Message{svc}, true); err != nil {
					return err
				}
			}
			if sawRollback {
				return a.rolloutFailed(name, "it was rolled back")
			}
			return nil
		case orchpb.UpdatePaused:
			if st.GetCanary() > 0 {
				// The canaries are in and wait for a decision: what this
				// command followed is done.
				if a.structured() {
					return a.printObjects([]proto.Message{svc}, true)
				}
				fmt.Fprintf(a.stdout, "service/%s: canary stage: promote with `orchctl rollout promote service %s`, or abort with `orchctl rollout abort service %s`\n", name, name, name)
				return nil
			}
			if a.structured() {
				if err := a.printObjects([]proto.Message{svc}, true); err != nil {
					return err
				}
			}
			return a.rolloutFailed(name, st.GetUpdateState()+messageSuffix(st.GetMessage()))
		case orchpb.UpdateRolledBack, orchpb.UpdateFailed:
			if a.structured() {
				if err := a.printObjects([]proto.Message{svc}, true); err != nil {
					return err
				}
			}
			return a.rolloutFailed(name, st.GetUpdateState()+messageSuffix(st.GetMessage()))
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("service/%s: rollout still in progress after --timeout: %s", name, last)
			}
			return ctx.Err()
		case <-time.After(rolloutPoll):
		}
	}
}

func (a *app) rolloutFailed(name, why string) error {
	fmt.Fprintf(a.stderr, "error: service/%s: rollout did not complete: %s\n", name, why)
	return errAlreadyReported{1}
}

// progressLine is one line of the progress display.
func progressLine(svc *orchpb.Service) string {
	st := svc.GetStatus()
	name := "service/" + svc.GetSpec().GetName()
	switch st.RolloutState() {
	case orchpb.UpdateCompleted, "":
		return fmt.Sprintf("%s: generation %d rolled out: %d/%d replicas running", name, svc.GetGeneration(), st.GetRunning(), st.GetDesired())
	case orchpb.UpdateRolledBack:
		return fmt.Sprintf("%s: rolled back as generation %d: %d/%d replicas running", name, svc.GetGeneration(), st.GetRunning(), st.GetDesired())
	case orchpb.UpdatePaused, orchpb.UpdateFailed:
		if st.GetCanary() > 0 {
			return fmt.Sprintf("%s: canary of generation %d: %d/%d canaries healthy, paused for promotion (%d/%d replicas updated)%s",
				name, svc.GetGeneration(), min(st.GetUpdated(), st.GetCanary()), st.GetCanary(), st.GetUpdated(), st.GetDesired(), messageSuffix(st.GetMessage()))
		}
		return fmt.Sprintf("%s: rollout of generation %d %s: %d/%d replicas updated", name, svc.GetGeneration(), st.GetUpdateState(), st.GetUpdated(), st.GetDesired())
	case orchpb.UpdateRollingBack:
		return fmt.Sprintf("%s: rolling back (generation %d): %d/%d replicas on the previous spec, %d running", name, svc.GetGeneration(), st.GetUpdated(), st.GetDesired(), st.GetRunning())
	}
	if st.GetCanary() > 0 {
		return fmt.Sprintf("%s: canary of generation %d: %d/%d canaries updated, %d running", name, svc.GetGeneration(), min(st.GetUpdated(), st.GetCanary()), st.GetCanary(), st.GetRunning())
	}
	return fmt.Sprintf("%s: rolling out generation %d: %d/%d replicas updated, %d running", name, svc.GetGeneration(), st.GetUpdated(), st.GetDesired(), st.GetRunning())
}

func messageSuffix(m string) string {
	if m == "" {
		return ""
	}
	return ": " + m
}

func (a *app) rollbackCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "rollback service NAME",
		Short:   "Return a service to its previous spec (rolled out like any update)",
		Example: "  orchctl rollback service hello && orchctl rollout status service hello",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := onlyServices("rollback", args[0]); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			svc, err := c.RollbackService(cmd.Context(), a.namespace, args[1])
			if err != nil {
				return fmt.Errorf("service/%s: %w", args[1], err)
			}
			if a.structured() {
				return a.printObjects([]proto.Message{svc}, true)
			}
			fmt.Fprintf(a.stdout, "service/%s rolling back to its previous spec as generation %d (image %s)\n",
				args[1], svc.GetGeneration(), svc.GetSpec().GetImage())
			return nil
		},
	}
}

// canaryCommand is `rollout promote` or `rollout abort`.
func (a *app) canaryCommand(verb string) *cobra.Command {
	short := "Promote a canary rollout: the other replicas take the new spec too"
	if verb == "abort" {
		short = "Abort a canary rollout: back to the previous spec; replicas that never left it keep running"
	}
	return &cobra.Command{
		Use:     verb + " service NAME",
		Short:   short,
		Example: "  orchctl rollout " + verb + " service hello && orchctl rollout status service hello",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := onlyServices("rollout "+verb, args[0]); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			do, done := c.PromoteService, "promoted: rolling out generation %d to every replica"
			if verb == "abort" {
				do, done = c.AbortService, "canary aborted: rolling back as generation %d"
			}
			svc, err := do(cmd.Context(), a.namespace, args[1])
			if err != nil {
				return fmt.Errorf("service/%s: %w", args[1], err)
			}
			if a.structured() {
				return a.printObjects([]proto.Message{svc}, true)
			}
			fmt.Fprintf(a.stdout, "service/%s "+done+"\n", args[1], svc.GetGeneration())
			return nil
		},
	}
}
