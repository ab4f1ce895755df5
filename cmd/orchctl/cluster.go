package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func (a *app) clusterCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "The masters of the cluster",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Masters, leader, Raft index and health",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			cl, err := c.Cluster(cmd.Context())
			if err != nil {
				return err
			}
			if a.structured() {
				return a.printValue(cl)
			}
			leader := cl.Leader
			if leader == "" {
				leader = "none (no quorum?)"
			}
			fmt.Fprintf(a.stdout, "Cluster: %s\nLeader:  %s\nIndex:   %d\n\n", dash(cl.ClusterID), leader, cl.Index)
			rows := make([][]string, len(cl.Members))
			for i, m := range cl.Members {
				healthy := "yes"
				if !m.Healthy {
					healthy = "no"
				}
				rows[i] = []string{m.ID, dash(m.Role), dash(m.APIAddress), dash(m.RaftAddress), strconv.FormatUint(m.AppliedIndex, 10), healthy}
			}
			return writeTable(a.stdout, []string{"ID", "ROLE", "API", "RAFT", "APPLIED", "HEALTHY"}, rows)
		},
	})
	return cmd
}
