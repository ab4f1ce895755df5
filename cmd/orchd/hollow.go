package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/orch-io/orch/hollow"
	"github.com/spf13/cobra"
)

// newHollowCommand runs simulated agents for scale tests and benchmarks.
// Nothing else in orchd reaches the hollow package: a real agent always
// runs real containers.
func newHollowCommand() *cobra.Command {
	var (
		count                       int
		join, prefix, labels        string
		secret                      secretFlags
		capacityCPU, capacityMemory string
		heartbeat                   time.Duration
		deviceFlags                 []string
		jobFailureRate              float64
		peers                       bool
		pprofAddr                   string
	)
	cmd := &cobra.Command{
		Use:   "hollow",
		Short: "Run N simulated agents in one process (no containers), for scale tests and benchmarks",
		Long: "orchd hollow joins N simulated nodes, PREFIX-1 ... PREFIX-N, through the real agent channel. " +
			"They heartbeat and report every replica they are assigned as running at once, and every job run as ended " +
			"at once (exit 0, or exit 1 for --job-failure-rate of them); they run nothing.",
		RunE: func(cmd *cobra.Command, args []string) error {
			servePprof(pprofAddr)
			masters := splitList(join)
			token, err := secret.get()
			if err != nil {
				return err
			}
			if len(masters) == 0 || token == "" {
				return errors.New("--join and --token-file are required")
			}
			if jobFailureRate < 0 || jobFailureRate > 1 {
				return fmt.Errorf("--job-failure-rate %v: want a fraction between 0 and 1", jobFailureRate)
			}
			if prefix == "" {
				host, err := os.Hostname()
				if err != nil {
					return fmt.Errorf("--name: no host name to default to: %w", err)
				}
				prefix = host
			}
			lbls, err := parseLabels(labels)
			if err != nil {
				return err
			}
			devices, err := parseDevices(deviceFlags)
			if err != nil {
				return err
			}
			// Hollow nodes are not this machine: without flags each gets a
			// typical small server, not the host's capacity.
			capacity, err := capacityFromFlags(orDefault(capacityCPU, "4"), orDefault(capacityMemory, "8Gi"))
			if err != nil {
				return err
			}
			fleet, err := hollow.Start(cmd.Context(), hollow.Config{
				Masters: masters, Token: token, Count: count, Prefix: prefix, Labels: lbls,
				Capacity: capacity, Devices: devices, HeartbeatInterval: heartbeat, JobFailureRate: jobFailureRate, Peers: peers, Logger: slog.Default(),
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d hollow nodes joined (%s-1 ... %s-%d)\n", count, prefix, prefix, count)
			<-cmd.Context().Done()
			fleet.Stop()
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&count, "count", 1, "how many simulated nodes")
	fl.StringVar(&join, "join", "", "https://HOST:PORT[,https://HOST2:PORT...] of the masters")
	secret.register(fl, "agent join token")
	fl.StringVar(&prefix, "name", "", "node name prefix (default: the host name)")
	fl.StringVar(&labels, "labels", "", "labels of every node, k=v,k2=v2")
	fl.StringVar(&capacityCPU, "capacity-cpu", "", "cpu of each node (default 4)")
	fl.StringVar(&capacityMemory, "capacity-memory", "", "memory of each node (default 8Gi)")
	fl.StringArrayVar(&deviceFlags, "device", nil, "devices every node advertises, NAME=PATH[,PATH...] (repeatable; one device per path, nothing is opened)")
	fl.DurationVar(&heartbeat, "heartbeat-interval", time.Second, "how often each node reports when nothing changed")
	fl.Float64Var(&jobFailureRate, "job-failure-rate", 0, "the fraction of job runs that exit 1 (the others exit 0)")
	fl.BoolVar(&peers, "peers", false, "ask for the peer list as an agent with an overlay does (measures the masters' fan-out of node changes)")
	addPprofFlag(fl, &pprofAddr)
	return cmd
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
