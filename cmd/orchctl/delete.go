package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) deleteCommand() *cobra.Command {
	var volumes bool
	cmd := &cobra.Command{
		Use:   "delete service|job|secret|config NAME...",
		Short: "Stop and remove services and jobs; delete secrets and configs no service uses",
		Long: `Stop and remove services and jobs (a job's runs and logs go with it);
delete secrets and configs no service uses.
A service's persistent volumes are kept (applying it again reuses them)
unless --volumes is given, which deletes their data on their nodes; it
also deletes the volumes of a service deleted earlier without it.`,
		Example: "  orchctl delete service hello\n  orchctl delete service db --volumes\n  orchctl delete job migrate\n  orchctl delete secret db",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dk, ok := isDataKind(args[0]); ok {
				return a.deleteData(cmd.Context(), dk, args[1:])
			}
			k, err := lookupKind(args[0])
			if err != nil {
				return err
			}
			if k != serviceKind && k != jobKind {
				return fmt.Errorf("delete %s: only services and jobs can be deleted (nodes leave with `orchctl node drain`)", k.plural)
			}
			if volumes && k != serviceKind {
				return fmt.Errorf("delete %s --volumes: only services have volumes", k.plural)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			del, suffix := c.DeleteService, ""
			switch {
			case k == jobKind:
				del = c.DeleteJob
			case volumes:
				del, suffix = c.DeleteServiceAndVolumes, " with its volumes"
			}
			for _, name := range args[1:] {
				if _, err := del(cmd.Context(), a.namespace, name); err != nil {
					return fmt.Errorf("%s/%s: %w", k.name, name, err)
				}
				fmt.Fprintf(a.stdout, "%s/%s deleted%s\n", k.name, name, suffix)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&volumes, "volumes", false, "also delete the service's persistent volumes and their data")
	return cmd
}
