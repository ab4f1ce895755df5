package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/orch-io/orch/api/client"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/spf13/cobra"
)

func (a *app) logsCommand() *cobra.Command {
	var (
		follow    bool
		tail      int
		container string
	)
	cmd := &cobra.Command{
		Use:   "logs REPLICA|service/NAME|job/NAME",
		Short: "Print a replica's output, from whichever node runs it",
		Long: `Print the output of one replica (its display name, hello.2, or its id), or of
every replica of a service (service/NAME) or every kept run of a job
(job/NAME: its last runs, finished ones included), each line prefixed with
the replica's name.`,
		Example: `  orchctl logs hello.1 --tail 20
  orchctl logs service/hello -f
  orchctl logs job/migrate
  orchctl logs hello.1 -c proxy`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if kindName, name, ok := strings.Cut(args[0], "/"); ok {
				k, err := lookupKind(kindName)
				if err != nil {
					return err
				}
				if k != serviceKind && k != jobKind {
					return fmt.Errorf("logs %s: want REPLICA, service/NAME or job/NAME", args[0])
				}
				if container != "" {
					return fmt.Errorf("logs %s: -c picks a container of one replica; name the replica", args[0])
				}
				return a.serviceLogs(ctx, c, name, follow, tail)
			}
			return a.replicaLogs(ctx, c, args[0], container, follow, tail)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output")
	cmd.Flags().IntVar(&tail, "tail", -1, "print only the last N lines (-1: all that is kept)")
	cmd.Flags().StringVarP(&container, "container", "c", "", "print this sidecar's or init container's output (default: the main container's)")
	return cmd
}

func (a *app) replicaLogs(ctx context.Context, c *client.Client, replica, container string, follow bool, tail int) error {
	rc, err := c.ContainerLogs(ctx, replica, a.namespace, container, follow, tail)
	if err != nil {
		return fmt.Errorf("logs %s: %w", replica, err)
	}
	defer rc.Close()
	if _, err := io.Copy(a.stdout, rc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("logs %s: %w", replica, err)
	}
	return nil
}

// serviceLogs prints the logs of every replica of a service, one after the
// other, or interleaved by line when following.
func (a *app) serviceLogs(ctx context.Context, c *client.Client, service string, follow bool, tail int) error {
	reps, _, err := c.ListReplicas(ctx, client.ReplicaFilter{Namespace: a.namespace, Service: service})
	if err != nil {
		return err
	}
	reps = slices.DeleteFunc(reps, func(r *orchpb.Replica) bool { return r.GetNode() == "" })
	if len(reps) == 0 {
		return fmt.Errorf("%s: no replica or run has been placed on a node", service)
	}
	slices.SortFunc(reps, compareReplicas)
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs = make([]error, len(reps))
	)
	for i, r := range reps {
		copyOne := func() {
			errs[i] = a.prefixedLogs(ctx, c, r, follow, tail, &mu)
		}
		if !follow {
			copyOne()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			copyOne()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (a *app) prefixedLogs(ctx context.Context, c *client.Client, r *orchpb.Replica, follow bool, tail int, mu *sync.Mutex) error {
	name := r.DisplayName()
	rc, err := c.Logs(ctx, r.GetId(), r.GetNamespace(), follow, tail)
	if err != nil {
		return fmt.Errorf("logs %s: %w", name, err)
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if !strings.HasSuffix(line, "\n") {
				line += "\n"
			}
			mu.Lock()
			fmt.Fprintf(a.stdout, "[%s] %s", name, line)
			mu.Unlock()
		}
		if err == io.EOF || ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("logs %s: %w", name, err)
		}
	}
}
