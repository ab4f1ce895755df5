package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/master/disruption"
	orchpb "github.com/orch-io/orch/proto"
)

// drainPoll is how often a drain looks at what is left; each move takes at
// least an agent's report, so this is plenty.
const drainPoll = time.Second

// waitDrained follows a drain until nothing is meant to run on the node
// any more, printing what is left whenever it changes, and for each
// service whether its disruption budget holds the move back.
func (a *app) waitDrained(ctx context.Context, c *client.Client, node *orchpb.Node) error {
	last := ""
	for {
		reps, _, err := c.ListReplicas(ctx, client.ReplicaFilter{Node: node.GetId()})
		if err != nil {
			return a.drainGaveUp(ctx, node, last, err)
		}
		var running []*orchpb.Replica
		for _, r := range reps {
			if r.Desired() == orchpb.DesiredRunning && !r.Terminal() {
				running = append(running, r)
			}
		}
		volumes, err := c.ListVolumes(ctx, "")
		if err != nil && !errors.Is(err, api.ErrNotFound) { // a master before volumes has none
			return a.drainGaveUp(ctx, node, last, err)
		}
		pinned, movable := pinnedSlots(volumes, node.GetId(), running)
		left := map[string][]*orchpb.Replica{}
		for _, r := range movable {
			k := r.GetNamespace() + "/" + r.GetService()
			left[k] = append(left[k], r)
		}
		if len(left) == 0 && len(pinned) > 0 {
			return fmt.Errorf("node/%s: drained but for %d slots that cannot move, held by their volumes on the node: %s; "+
				"they keep running there (stop them with scale or delete, or let one start empty elsewhere with `orchctl volume forget SERVICE.SLOT/NAME` once it is stopped)",
				node.GetName(), len(pinned), strings.Join(pinned, ", "))
		}
		if len(left) == 0 {
			fmt.Fprintf(a.stdout, "node/%s drained\n", node.GetName())
			return nil
		}
		line, err := a.drainProgress(ctx, c, left)
		if err != nil {
			return a.drainGaveUp(ctx, node, last, err)
		}
		if line != last {
			fmt.Fprintf(a.stdout, "node/%s: waiting for %s\n", node.GetName(), line)
			last = line
		}
		select {
		case <-ctx.Done():
			return a.drainGaveUp(ctx, node, last, ctx.Err())
		case <-time.After(drainPoll):
		}
	}
}

// drainProgress says, per service, how many replicas are left on the node
// and whether the service's disruption budget blocks their moves now.
func (a *app) drainProgress(ctx context.Context, c *client.Client, left map[string][]*orchpb.Replica) (string, error) {
	keys := make([]string, 0, len(left))
	for k := range left {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		ns, name, _ := strings.Cut(k, "/")
		part := fmt.Sprintf("%s (%d left)", k, len(left[k]))
		svc, err := c.GetService(ctx, ns, name)
		if err != nil {
			return "", fmt.Errorf("service/%s: %w", name, err)
		}
		all, _, err := c.ListReplicas(ctx, client.ReplicaFilter{Namespace: ns, Service: name})
		if err != nil {
			return "", fmt.Errorf("service/%s: %w", name, err)
		}
		if budget, ok := disruption.Budget(svc.GetSpec()); ok {
			desired := svc.GetSpec().GetReplicas()
			available := disruption.AvailableSlots(all, desired)
			if disruption.Allowance(desired, available, budget) == 0 {
				part += fmt.Sprintf(": blocked by its disruption budget (maxUnavailable %d, %d of %d available): waits for replacements", budget, available, desired)
			}
		}
		for _, r := range all {
			// A replacement with nowhere to go says why.
			if r.GetNode() == "" && r.Desired() == orchpb.DesiredRunning && r.GetMessage() != "" {
				part += fmt.Sprintf("; replacement %s pending: %s", r.DisplayName(), r.GetMessage())
				break
			}
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; "), nil
}

func (a *app) drainGaveUp(ctx context.Context, node *orchpb.Node, last string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("node/%s: still draining after --timeout (the node stays draining): %s", node.GetName(), last)
	}
	return fmt.Errorf("node/%s: %w", node.GetName(), err)
}
