package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/orch-io/orch/api/client"
	"github.com/spf13/cobra"
)

// Output formats of -o.
const (
	outTable = "table"
	outWide  = "wide"
	outJSON  = "json"
	outYAML  = "yaml"
)

// app holds the global flags and the streams every verb writes to.
type app struct {
	configPath string
	server     string
	token      string
	output     string
	namespace  string

	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run executes one orchctl command line and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		var exited exitCodeError
		if errors.As(err, &exited) {
			return exited.code
		}
		var quiet errAlreadyReported
		if !errors.As(err, &quiet) {
			fmt.Fprintln(stderr, "error:", err)
		}
		return 1
	}
	return 0
}

// errAlreadyReported ends a command whose errors were printed one by one
// (apply of several services), so run only sets the exit code.
type errAlreadyReported struct{ n int }

func (e errAlreadyReported) Error() string { return fmt.Sprintf("%d errors", e.n) }

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "orchctl",
		Short:         "Control an orch cluster",
		Long:          "orchctl talks to an orch cluster's API. It finds the cluster in --config FILE, $ORCH_CONFIG or ~/.orch/config, in that order; --server and --token override.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch a.output {
			case outTable, outWide, outJSON, outYAML:
				return nil
			}
			return fmt.Errorf("-o %s: want table, wide, json or yaml", a.output)
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&a.configPath, "config", "", "cluster config file (default $ORCH_CONFIG, then ~/.orch/config)")
	f.StringVar(&a.server, "server", "", "API URL, or several comma-separated (overrides the config)")
	f.StringVar(&a.token, "token", "", "bearer token (overrides the config)")
	f.StringVarP(&a.output, "output", "o", outTable, "output format: table, wide, json or yaml")
	f.StringVarP(&a.namespace, "namespace", "n", client.DefaultNamespace, "namespace")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(
		[]string{outTable, outWide, outJSON, outYAML}, cobra.ShellCompDirectiveNoFileComp))

	root.AddCommand(
		a.applyCommand(),
		a.getCommand(),
		a.deleteCommand(),
		a.scaleCommand(),
		a.logsCommand(),
		a.execCommand(),
		a.imageCommand(),
		a.clusterCommand(),
		a.snapshotCommand(),
		a.tokenCommand(),
		a.caCommand(),
		a.planCommand(),
		a.rebalanceCommand(),
		a.describeCommand(),
		a.waitCommand(),
		a.rolloutCommand(),
		a.rollbackCommand(),
		a.nodeCommand(),
		a.eventsCommand(),
		a.secretCommand(),
		a.configCommand(),
		a.volumeCommand(),
		a.versionCommand(),
	)
	return root
}

// client builds the API client from the config file and the overriding
// flags. With --server and no config file at the default places, it goes
// on without one (system roots, --token).
func (a *app) client() (*client.Client, error) {
	cfg, path, err := client.LoadConfig(a.configPath)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && a.server != "" && a.configPath == "":
		cfg = &client.Config{}
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no cluster config at %s: pass --config FILE or --server URL, set $%s, or start a cluster with `orchd dev`", path, client.EnvConfig)
	default:
		return nil, err
	}
	if a.server != "" {
		cfg.Server = a.server
	}
	if a.token != "" {
		cfg.Token = a.token
	}
	return client.New(cfg, client.WithUserAgent("orchctl"))
}

func (a *app) structured() bool { return a.output == outJSON || a.output == outYAML }
