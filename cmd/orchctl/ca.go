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
	"github.com/orch-io/orch/pki"
	"github.com/spf13/cobra"
)

// caPoll is how often `orchctl ca rotate` looks at the rotation's progress.
const caPoll = 200 * time.Millisecond

func (a *app) caCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "The cluster CA: replace it without downtime, see a replacement's progress",
	}
	cmd.AddCommand(a.caRotateCommand(), a.caStatusCommand())
	return cmd
}

func (a *app) caRotateCommand() *cobra.Command {
	var abort, force bool
	cmd := &cobra.Command{
		Use:   "rotate [--abort] [--force]",
		Short: "Replace the cluster CA with a new one, with no downtime",
		Long: `Replace the cluster CA (A) with a new one (B) without refusing a request or
restarting anything (docs/ca-rotation.md). Every master and node first
trusts both CAs (trust), then B signs and each renews its certificate
(sign), then A is retired: nothing signs with it and nothing trusts a
certificate only A vouches for (retire). The command prints each phase as
it is reached with the masters and nodes that caught up, returns once A is
retired, and rewrites the CA in its own config file with B (an older copy
keeps working: the masters send A's signature over B with their
certificates). Run again, it follows a rotation already under way.

--abort ends a rotation still in phase trust. --force retires A although
nodes that are down still hold certificates only A signed (they must be
removed and joined again).`,
		Example: "  orchctl ca rotate\n  orchctl ca rotate --abort\n  orchctl ca status",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			st, err := c.RotateCA(cmd.Context(), api.CARotateRequest{Abort: abort, Force: force})
			if err != nil {
				return err
			}
			if abort {
				fmt.Fprintln(a.stdout, "no rotation under way: the cluster CA is", short(st.CA))
				return nil
			}
			return a.followRotation(cmd.Context(), c, st)
		},
	}
	cmd.Flags().BoolVar(&abort, "abort", false, "end a rotation still in phase trust")
	cmd.Flags().BoolVar(&force, "force", false, "retire the old CA although nodes that are down still hold certificates it signed")
	return cmd
}

// followRotation prints each phase as it is reached until the old CA is
// retired, then puts the new CA into the caller's config.
func (a *app) followRotation(ctx context.Context, c *client.Client, st *api.CARotationStatus) error {
	next, said := st.Next, ""
	for st.Phase != "" {
		if line := rotationLine(st); line != said {
			fmt.Fprintln(a.stdout, line)
			said = line
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(caPoll):
		}
		var err error
		if st, err = c.CARotation(ctx); err != nil {
			return err
		}
	}
	if next == "" || st.CA != next {
		return fmt.Errorf("ca rotate: the rotation to %s ended without retiring the old CA (aborted?): the cluster CA is %s", short(next), short(st.CA))
	}
	fmt.Fprintf(a.stdout, "retire: the cluster CA is now %s\n", short(st.CA))
	return a.adoptCA(ctx, c, st.CA)
}

func rotationLine(st *api.CARotationStatus) string {
	line := fmt.Sprintf("%s: %d/%d masters, %d/%d nodes", st.Phase, st.Masters.Ready, st.Masters.Total, st.Nodes.Ready, st.Nodes.Total)
	if len(st.Waiting) > 0 {
		line += " (waiting for " + strings.Join(st.Waiting, ", ") + ")"
	}
	if len(st.Down) > 0 {
		line += " (down: " + strings.Join(st.Down, ", ") + ")"
	}
	return line
}

// adoptCA writes the cluster CA (digest want) into the caller's config
// file, when there is one that holds a CA.
func (a *app) adoptCA(ctx context.Context, c *client.Client, want string) error {
	cfg, path, err := client.LoadConfig(a.configPath)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && cfg.CA == "") {
		return nil
	}
	if err != nil {
		return err
	}
	served, err := c.CA(ctx)
	if err != nil {
		return err
	}
	caPEM, err := pki.AcceptServedCA(served, want)
	if err != nil {
		return fmt.Errorf("ca rotate: %w", err)
	}
	cfg.CA = string(caPEM)
	if err := client.WriteConfig(path, cfg); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote the new CA into %s\n", path)
	return nil
}

func (a *app) caStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the CA rotation under way: its phase and who caught up with it",
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
				fmt.Fprintln(a.stdout, "no rotation under way: the cluster CA is", short(st.CA))
				return nil
			}
			fmt.Fprintf(a.stdout, "replacing CA %s with %s\n%s\n", short(st.CA), short(st.Next), rotationLine(st))
			return nil
		},
	}
}

// short is a digest's first 12 characters, as the CLI shows them.
func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}
