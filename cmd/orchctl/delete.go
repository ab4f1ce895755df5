package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) deleteCommand() *cobra.Command {
	var volumes bool
	cmd := &cobra.Command{
		Use:   "delete service|secret|config NAME...",
		Short: "Stop and remove services; delete secrets and configs no service uses",
		Long: `Stop and remove services; delete secrets and configs no service uses.
A service's persistent volumes are kept (applying it again reuses them)
unless --volumes is given, which deletes their data on their nodes; it
also deletes the volumes of a service deleted earlier without it.`,
		Example: "  orchctl delete service hello\n  orchctl delete service db --volumes\n  orchctl delete secret db",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dk, ok := isDataKind(args[0]); ok {
				return a.deleteData(cmd.Context(), dk, args[1:])
			}
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
				del := c.DeleteService
				if volumes {
					del = c.DeleteServiceAndVolumes
				}
				if _, err := del(cmd.Context(), a.namespace, name); err != nil {
					return fmt.Errorf("service/%s: %w", name, err)
				}
				if volumes {
					fmt.Fprintf(a.stdout, "service/%s deleted with its volumes\n", name)
				} else {
					fmt.Fprintf(a.stdout, "service/%s deleted\n", name)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&volumes, "volumes", false, "also delete the service's persistent volumes and their data")
	return cmd
}
