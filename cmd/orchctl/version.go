package main

import (
	"context"
	"fmt"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "v0.2.0-dev"

func (a *app) versionCommand() *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print orchctl's version and protocol, and the protocol of the cluster's master",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(a.stdout, "orchctl %s, %s\n", version, api.VersionLine())
			if clientOnly {
				return nil
			}
			c, err := a.client()
			if err != nil {
				fmt.Fprintf(a.stdout, "master: unknown (%v)\n", err)
				return nil
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			p, err := c.ServerProtocol(ctx)
			if err != nil {
				return fmt.Errorf("master: %w", err)
			}
			fmt.Fprintf(a.stdout, "master: protocol %s\n", p)
			return nil
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print orchctl's own version only; do not ask a master")
	return cmd
}
