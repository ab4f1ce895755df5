package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) deleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "delete service NAME...",
		Short:   "Stop and remove services",
		Example: "  orchctl delete service hello",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := lookupKind(args[0])
			if err != nil {
				return err
			}
			if k != serviceKind {
				return fmt.Errorf("delete %s: only services can be deleted (nodes leave with `orchctl node drain`)", k.plural)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			for _, name := range args[1:] {
				if _, err := c.DeleteService(cmd.Context(), a.namespace, name); err != nil {
					return fmt.Errorf("service/%s: %w", name, err)
				}
				fmt.Fprintf(a.stdout, "service/%s deleted\n", name)
			}
			return nil
		},
	}
}
