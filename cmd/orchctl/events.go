package main

import (
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	"github.com/spf13/cobra"
)

func (a *app) eventsCommand() *cobra.Command {
	var (
		watch bool
		f     client.EventFilter
	)
	cmd := &cobra.Command{
		Use:   "events [-w]",
		Short: "The cluster's event stream: scheduled, started, unhealthy, rescheduled, node down, update steps, rollbacks",
		Example: `  orchctl events
  orchctl events -w --service hello`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("namespace") {
				f.Namespace = a.namespace
			}
			header := []string{"TIME", "TYPE", "REASON", "OBJECT", "MESSAGE"}
			if !watch {
				evs, err := c.Events(cmd.Context(), f)
				if err != nil {
					return err
				}
				if a.structured() {
					if evs == nil {
						evs = []api.ClusterEvent{}
					}
					return a.printValue(evs)
				}
				rows := make([][]string, 0, len(evs))
				for _, e := range evs {
					rows = append(rows, eventRow(e))
				}
				return writeTable(a.stdout, header, rows)
			}
			var table *streamTable
			if !a.structured() {
				table = newStreamTable(a.stdout, header, []string{"15:04:05.000", "warning", "UpdateCompleted", "replica hello.10"}, nil)
			}
			return c.FollowEvents(cmd.Context(), f, func(e api.ClusterEvent) error {
				if table != nil {
					table.print(eventRow(e))
					return nil
				}
				return a.printValue(e)
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&watch, "watch", "w", false, "keep following new events")
	fl.StringVar(&f.Service, "service", "", "only this service and its replicas")
	fl.StringVar(&f.Node, "node", "", "only this node and the replicas on it")
	fl.StringVar(&f.Replica, "replica", "", "only this replica (id or SERVICE.SLOT)")
	fl.StringVar(&f.Kind, "kind", "", "only service, replica or node events")
	fl.IntVar(&f.Limit, "limit", 0, "at most this many past events (default: the server's)")
	return cmd
}

func eventRow(e api.ClusterEvent) []string {
	return []string{e.Time.Local().Format("15:04:05.000"), e.Type, e.Reason, e.Subject(), e.Message}
}

// eventAgeRow is a row for describe: how long ago, not when.
func eventAgeRow(e api.ClusterEvent, now time.Time) []string {
	return []string{formatAge(now.Sub(e.Time)), e.Type, e.Reason, e.Subject(), e.Message}
}
