package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
)

func (a *app) nodeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node drain|cordon|uncordon|remove NAME",
		Short: "Take a node out of scheduling, move its replicas off, bring it back, or remove it",
	}
	for _, v := range []struct{ verb, short, done string }{
		{"drain", "Stop scheduling on the node and move its replicas elsewhere, each replacement running before the old replica stops", "draining"},
		{"cordon", "Stop scheduling new replicas on the node; its replicas stay", "cordoned"},
		{"uncordon", "Let the node take replicas again", "uncordoned"},
	} {
		var wait bool
		var timeout time.Duration
		sub := &cobra.Command{
			Use:   v.verb + " NAME",
			Short: v.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := a.client()
				if err != nil {
					return err
				}
				n, err := c.SetNodeState(cmd.Context(), args[0], v.verb)
				if err != nil {
					return fmt.Errorf("node/%s: %w", args[0], err)
				}
				if a.structured() {
					return a.printObjects([]proto.Message{n}, true)
				}
				fmt.Fprintf(a.stdout, "node/%s %s (state %s)\n", n.GetName(), v.done, n.GetState())
				if v.verb != "drain" || !wait {
					return nil
				}
				ctx := cmd.Context()
				if timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, timeout)
					defer cancel()
				}
				return a.waitDrained(ctx, c, n)
			},
		}
		if v.verb == "drain" {
			sub.Long = "Stop scheduling on the node and move its replicas elsewhere, each replacement running before the\n" +
				"old replica stops. It waits until nothing runs on the node, and says which services' disruption\n" +
				"budgets hold moves back: a drain never takes more of a service down than its budget allows."
			sub.Flags().BoolVar(&wait, "wait", true, "wait until the node holds no replica (--wait=false returns at once)")
			sub.Flags().DurationVar(&timeout, "timeout", 0, "give up waiting after this long; the node stays draining (0: no limit)")
		}
		cmd.AddCommand(sub)
	}
	cmd.AddCommand(a.nodeRemoveCommand())
	return cmd
}

// nodeRemoveCommand removes a node: a join token admits only a name no
// node holds, so this is how a name goes to another machine.
func (a *app) nodeRemoveCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a node and free its name and subnet, so that another machine may register under the name",
		Long: "Remove a node and free its name and subnet. A node that is not down and still holds replicas\n" +
			"is refused: drain it first, or pass --force (its replicas are then marked lost and replaced).\n" +
			"The removed node's certificate no longer admits it; it registers again only with the join token.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.RemoveNode(cmd.Context(), args[0], force); err != nil {
				return fmt.Errorf("node/%s: %w", args[0], err)
			}
			fmt.Fprintf(a.stdout, "node/%s removed\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "remove a live node that still holds replicas")
	return cmd
}
