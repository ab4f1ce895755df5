package main

import (
	"bytes"
	"fmt"

	"github.com/orch-io/orch/api"
	"github.com/spf13/cobra"
)

func (a *app) planCommand() *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "plan -f FILE",
		Short: "Dry run: the diff against the cluster and where each new replica would go",
		Long: `Show what applying the manifests would change, without changing anything:
the fields that differ, whether it is a rolling update, and where each new
replica would be placed on the cluster as it is now, or why it cannot be.
Exits non-zero when some replica could not be placed.`,
		Example: "  orchctl plan -f hello.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			specs, err := a.readManifests(files, cmd.Flags().Changed("namespace"))
			if err != nil {
				return err
			}
			var body bytes.Buffer
			for i, spec := range specs {
				doc, err := api.MarshalSpec(spec)
				if err != nil {
					return err
				}
				if i > 0 {
					body.WriteString("\n---\n")
				}
				body.Write(doc)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			plans, err := c.Plan(cmd.Context(), body.Bytes())
			if err != nil {
				return err
			}
			unplaced := 0
			for _, p := range plans {
				unplaced += len(p.Unplaced)
			}
			if a.structured() {
				if err := a.printValue(plans); err != nil {
					return err
				}
			} else {
				for i, p := range plans {
					if i > 0 {
						fmt.Fprintln(a.stdout)
					}
					a.printPlan(p)
				}
			}
			if unplaced > 0 {
				fmt.Fprintf(a.stderr, "error: %d %s could not be placed\n", unplaced, plural(unplaced, "replica", "replicas"))
				return errAlreadyReported{unplaced}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "manifest file, - for stdin (repeatable)")
	_ = cmd.MarkFlagRequired("filename")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	return cmd
}

func (a *app) printPlan(p api.Plan) {
	w := a.stdout
	what := map[string]string{
		api.PlanCreate:    "create (generation 1)",
		api.PlanUpdate:    fmt.Sprintf("update to generation %d", p.Generation),
		api.PlanScale:     "scale",
		api.PlanUnchanged: "unchanged",
	}[p.Action]
	fmt.Fprintf(w, "service/%s (namespace %s): %s\n", p.Name, p.Namespace, what)
	for _, d := range p.Diff {
		switch {
		case d.Old == "":
			fmt.Fprintf(w, "  + %s: %s\n", d.Field, d.New)
		case d.New == "":
			fmt.Fprintf(w, "  - %s: %s\n", d.Field, d.Old)
		default:
			fmt.Fprintf(w, "  ~ %s: %s -> %s\n", d.Field, d.Old, d.New)
		}
	}
	if p.Rollout != "" {
		fmt.Fprintf(w, "  %s\n", p.Rollout)
	}
	if len(p.Placements)+len(p.Unplaced) > 0 {
		rows := make([][]string, 0, len(p.Placements)+len(p.Unplaced))
		for _, pl := range p.Placements {
			rows = append(rows, []string{pl.Replica, pl.Node, ""})
		}
		for _, u := range p.Unplaced {
			rows = append(rows, []string{u.Replica, "-", "cannot be placed: " + u.Reason})
		}
		for _, v := range p.Preempts {
			rows = append(rows, []string{v.Replica, v.Node, "stopped: preempted by service " + p.Name})
		}
		indent(w, []string{"REPLICA", "NODE", "REASON"}, rows)
	}
	fmt.Fprintf(w, "  %s\n", p.Summary)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
