package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) rebalanceCommand() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "rebalance [--dry-run]",
		Short: "Move replicas to restore spread after nodes joined or came back",
		Long: `Plan the moves that spread each replicated service's replicas again (a
replica moves when another node would hold at least two fewer of its
service), show them, and have the cluster make them: each move starts the
replacement first and stops the old replica once the new one is ready.
A service with a disruption budget moves at most what the budget allows
at once, one without moves one replica at a time; run it again, or start
masters with --rebalance, for the rest. --dry-run shows the moves and
changes nothing.`,
		Example: "  orchctl rebalance --dry-run\n  orchctl rebalance",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.Rebalance(cmd.Context(), dryRun)
			if err != nil {
				return err
			}
			if a.structured() {
				return a.printValue(res)
			}
			if len(res.Moves) == 0 {
				fmt.Fprintln(a.stdout, "nothing to move: replicas are spread")
				return nil
			}
			var rows [][]string
			for _, m := range res.Moves {
				status := "moving"
				if res.DryRun {
					status = "planned"
				} else if why, ok := res.Rejected[m.ID]; ok {
					status = "refused: " + why
				}
				rows = append(rows, []string{m.Namespace, m.Replica, m.From, m.To, status})
			}
			if err := writeTable(a.stdout, []string{"NAMESPACE", "REPLICA", "FROM", "TO", "STATUS"}, rows); err != nil {
				return err
			}
			if res.DryRun {
				fmt.Fprintf(a.stdout, "dry run: %d %s planned, nothing changed\n", len(res.Moves), plural(len(res.Moves), "move", "moves"))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show the moves and change nothing")
	return cmd
}
