package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	"github.com/spf13/cobra"
)

func (a *app) caCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "The cluster's certificate authority",
	}
	cmd.AddCommand(a.caRotateCommand(), a.caStatusCommand())
	return cmd
}

func (a *app) caRotateCommand() *cobra.Command {
	var req api.RotateCARequest
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "rotate [--force] [--abort]",
		Short: "Replace the cluster CA with no downtime, and wait until the old one is retired",
		Long: `Replace the cluster CA with no downtime (docs/ca-rotation.md). Every master
and node first learns to trust the new CA (trust), then masters sign with it
and nodes renew their certificates (sign), then the old CA is retired: nothing
signs with it and nothing trusts a certificate only it vouches for. The phases
are printed as they are reached, with the masters and nodes that caught up and
those still awaited. On success this command rewrites its own config with the
new CA; copies of the old config keep working (the masters show the cross
certificate by which the old CA vouches for the new one).

--abort undoes a rotation still in its trust phase. --force retires the old
CA without waiting for nodes that are down; they must join again.`,
		Example: "  orchctl ca rotate\n  orchctl ca rotate --abort",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			st, err := c.RotateCA(cmd.Context(), req)
			if err != nil {
				return err
			}
			if req.Abort {
				fmt.Fprintln(a.stdout, "CA rotation aborted")
				return nil
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if st, err = a.followRotation(ctx, c, st); err != nil {
				return err
			}
			return a.adoptNewCA(st.CAPEM)
		},
	}
	cmd.Flags().BoolVar(&req.Abort, "abort", false, "undo a rotation still in its trust phase")
	cmd.Flags().BoolVar(&req.Force, "force", false, "retire the old CA without waiting for nodes that are down")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up waiting after this long (the rotation goes on)")
	return cmd
}

// followRotation prints each phase as it is reached until the rotation is
// over, and answers its last state.
func (a *app) followRotation(ctx context.Context, c *client.Client, st *api.CARotation) (*api.CARotation, error) {
	last := ""
	for {
		if line := rotationLine(st); line != last {
			fmt.Fprintln(a.stdout, line)
			last = line
		}
		if st.Phase == "" {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ca rotate: still in phase %s: %w (follow it with orchctl ca status)", st.Phase, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
		next, err := c.CARotation(ctx)
		if err != nil {
			// A leader change or a master renewing its certificate:
			// ask again.
			continue
		}
		st = next
	}
}

// rotationLine is one line of progress.
func rotationLine(st *api.CARotation) string {
	if st.Phase == "" {
		return "retired: the old CA signs nothing and is trusted by nothing"
	}
	line := fmt.Sprintf("%s: %d/%d masters, %d/%d nodes", st.Phase, st.MastersDone, st.Masters, st.NodesDone, st.Nodes)
	if len(st.Waiting) > 0 {
		line += "; waiting for " + strings.Join(st.Waiting, ", ")
	}
	if len(st.Down) > 0 {
		line += "; left out (down): " + strings.Join(st.Down, ", ")
	}
	return line
}

// adoptNewCA rewrites the caller's own config with the CA the masters
// sign with now.
func (a *app) adoptNewCA(caPEM string) error {
	if caPEM == "" {
		return nil
	}
	cfg, path, err := client.LoadConfig(a.configPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // --server and --token only: no config to update
	}
	if err != nil {
		return err
	}
	cfg.CA = caPEM
	if err := client.WriteConfig(path, cfg); err != nil {
		return fmt.Errorf("ca rotate: update %s with the new CA: %w", path, err)
	}
	fmt.Fprintf(a.stdout, "%s now trusts the new CA\n", path)
	return nil
}

func (a *app) caStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Where a CA rotation stands",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			st, err := c.CARotation(cmd.Context())
			if err != nil {
				return err
			}
			if a.structured() {
				return a.printValue(st)
			}
			if st.Phase == "" {
				fmt.Fprintln(a.stdout, "no CA rotation under way")
				return nil
			}
			fmt.Fprintln(a.stdout, rotationLine(st))
			return nil
		},
	}
}
