package main

import (
	"errors"
	"fmt"
	"math"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
)

func (a *app) scaleCommand() *cobra.Command {
	var replicas int
	cmd := &cobra.Command{
		Use:     "scale service NAME --replicas N",
		Short:   "Set the number of replicas of a service",
		Example: "  orchctl scale service hello --replicas 5",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := lookupKind(args[0])
			if err != nil {
				return err
			}
			if k != serviceKind {
				return fmt.Errorf("scale %s: only services scale", k.plural)
			}
			if replicas < 0 || replicas > math.MaxInt32 {
				return errors.New("--replicas: must be >= 0")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			svc, err := c.ScaleService(cmd.Context(), a.namespace, args[1], int32(replicas))
			if err != nil {
				return fmt.Errorf("service/%s: %w", args[1], err)
			}
			if a.structured() {
				return a.printObjects([]proto.Message{svc}, true)
			}
			fmt.Fprintf(a.stdout, "service/%s scaled to %d\n", args[1], replicas)
			return nil
		},
	}
	cmd.Flags().IntVar(&replicas, "replicas", 0, "the number of replicas")
	_ = cmd.MarkFlagRequired("replicas")
	return cmd
}
