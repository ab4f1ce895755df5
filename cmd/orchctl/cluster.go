package main

import (
	"fmt"
	"strconv"
	"strings"

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
			switch {
			case leader == "":
				leader = "none (no quorum?)"
			case cl.LeaderID != "":
				leader = cl.LeaderID + " (" + cl.Leader + ")"
			}
			fmt.Fprintf(a.stdout, "Cluster: %s\nLeader:  %s\nIndex:   %d\n\n", dash(cl.ClusterID), leader, cl.Index)
			rows := make([][]string, len(cl.Members))
			for i, m := range cl.Members {
				healthy := "yes"
				if !m.Healthy {
					healthy = "no"
				}
				rows[i] = []string{m.ID, dash(m.Role), dash(m.APIAddress), dash(m.RaftAddress), strconv.FormatUint(m.AppliedIndex, 10), healthy, dash(m.Protocol)}
			}
			return writeTable(a.stdout, []string{"ID", "ROLE", "API", "RAFT", "APPLIED", "HEALTHY", "PROTOCOL"}, rows)
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "remove MASTER",
		Short: "Remove a master from the cluster (by id, Raft address or API address)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			id := args[0]
			if cl, err := c.Cluster(cmd.Context()); err == nil {
				for _, m := range cl.Members {
					if m.RaftAddress == id || m.APIAddress == id || strings.TrimPrefix(m.APIAddress, "https://") == id {
						id = m.ID
					}
				}
			}
			if err := c.RemoveMaster(cmd.Context(), id); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "master %s removed\n", id)
			return nil
		},
	})
	return cmd
}
