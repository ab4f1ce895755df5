package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
)

func (a *app) nodeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node drain|cordon|uncordon NAME",
		Short: "Take a node out of scheduling, move its replicas off, or bring it back",
	}
	for _, v := range []struct{ verb, short, done string }{
		{"drain", "Stop scheduling on the node and move its replicas elsewhere, each replacement running before the old replica stops", "draining"},
		{"cordon", "Stop scheduling new replicas on the node; its replicas stay", "cordoned"},
		{"uncordon", "Let the node take replicas again", "uncordoned"},
	} {
		cmd.AddCommand(&cobra.Command{
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
				return nil
			},
		})
	}
	return cmd
}
