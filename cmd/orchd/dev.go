package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/orch-io/orch/agent/runtime/containerdproc"
	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/master"
	"github.com/spf13/cobra"
)

type devFlags struct {
	master     masterFlags
	agent      agentFlags
	dataDir    string
	containerd string
	agentAddr  string
	cleanup    bool
}

func newDevCommand() *cobra.Command {
	var f devFlags
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a single-machine cluster: one master and one agent in this process",
		Long: `Runs a master (bootstrapping a cluster on first start) and an agent that joins it
through the same token and API a remote agent uses. When no containerd answers at
--containerd, it starts a private one under DATA-DIR/containerd and stops it on exit.
It writes DATA-DIR/master/admin.conf and, when absent, ~/.orch/config.

Stopping orchd dev leaves the replicas running, to be adopted at the next start;
'orchd dev --cleanup' removes them, their network and the private containerd.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.cleanup {
				return devCleanup(cmd.Context(), &f)
			}
			return runDev(cmd.Context(), &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dataDir, "data-dir", "/var/lib/orch", "where the master, the agent and the private containerd keep their state")
	fl.StringVar(&f.containerd, "containerd", "/run/containerd/containerd.sock", "containerd socket to use if one answers there")
	fl.StringVar(&f.agentAddr, "agent-listen-addr", "127.0.0.1:7402", "HOST:PORT of the agent's endpoint (logs)")
	fl.BoolVar(&f.cleanup, "cleanup", false, "stop and remove every replica, the node's network and the private containerd, then exit")
	f.master.register(cmd, false)
	f.agent.register(cmd, false)
	if err := fl.Set("api-addr", "127.0.0.1:7400"); err != nil {
		panic(err)
	}
	return cmd
}

func runDev(ctx context.Context, f *devFlags) error {
	if err := os.MkdirAll(f.dataDir, 0o700); err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	socket, daemon, err := devContainerd(ctx, f)
	if err != nil {
		return err
	}
	if daemon != nil {
		defer func() {
			if err := daemon.Stop(); err != nil {
				slog.Warn("stop containerd", "err", err)
			}
			_ = os.Remove(containerdPIDFile(f.dataDir))
		}()
	}
	mc := f.master.config()
	mc.DataDir = filepath.Join(f.dataDir, "master")
	mc.Bootstrap = true
	m, err := master.Start(ctx, mc)
	if err != nil {
		return err
	}
	defer m.Stop()
	adminConf := filepath.Join(mc.DataDir, master.AdminConfigFile)
	if err := installUserConfig(adminConf); err != nil {
		slog.Warn("could not write ~/.orch/config", "err", err)
	}
	token, err := os.ReadFile(filepath.Join(mc.DataDir, master.AgentTokenFile))
	if err != nil {
		return fmt.Errorf("read the agent join token: %w", err)
	}
	af := f.agent
	af.dataDir = filepath.Join(f.dataDir, "agent")
	af.listenAddr = f.agentAddr
	af.singleNode = true
	if af.advertise == "" {
		af.advertise = "127.0.0.1"
	}
	slog.Info("orch dev cluster up", "api", m.URL(), "config", adminConf, "containerd", socket)
	return runAgent(ctx, &af, socket, []string{m.URL()}, strings.TrimSpace(string(token)))
}

// devContainerd finds a containerd to use: the one at --containerd, the
// private one left under the data dir by an earlier run (a killed orchd dev
// leaves it serving the containers it adopted), or a new private one.
func devContainerd(ctx context.Context, f *devFlags) (string, *containerdproc.Daemon, error) {
	if socket := firstAnswering(ctx, f.containerd, privateSocket(f.dataDir)); socket != "" {
		return socket, nil, nil
	}
	d, err := containerdproc.Start(ctx, privateDir(f.dataDir), slog.Default())
	if err != nil {
		return "", nil, fmt.Errorf("no containerd answers at %s and starting a private one failed: %w", f.containerd, err)
	}
	if err := os.WriteFile(containerdPIDFile(f.dataDir), []byte(strconv.Itoa(d.PID())), 0o600); err != nil {
		slog.Warn("write containerd pid file", "err", err)
	}
	return d.Socket(), d, nil
}

// firstAnswering is the first of sockets a containerd answers on, or "".
func firstAnswering(ctx context.Context, sockets ...string) string {
	for _, socket := range sockets {
		probe, cancel := context.WithTimeout(ctx, 2*time.Second)
		ok := containerdproc.Answers(probe, socket)
		cancel()
		if ok {
			return socket
		}
	}
	return ""
}

func privateDir(dataDir string) string { return filepath.Join(dataDir, "containerd") }
func privateSocket(dataDir string) string {
	return filepath.Join(privateDir(dataDir), "containerd.sock")
}
func containerdPIDFile(dataDir string) string { return filepath.Join(dataDir, "containerd.pid") }

// installUserConfig copies admin.conf to ~/.orch/config unless one exists
// that already points at a cluster.
func installUserConfig(adminConf string) error {
	home, err := os.UserHomeDir()
	if err != nil {
		return err
	}
	path := filepath.Join(home, ".orch", "config")
	if _, err := os.Stat(path); err == nil {
		// Refresh it only if it is ours (same server), so a user's own
		// config for another cluster is never overwritten.
		existing, _, err := client.LoadConfig(path)
		if err != nil {
			return nil
		}
		mine, _, err := client.LoadConfig(adminConf)
		if err != nil || existing.Server != mine.Server {
			return nil
		}
	}
	cfg, _, err := client.LoadConfig(adminConf)
	if err != nil {
		return err
	}
	return client.WriteConfig(path, cfg)
}

// devCleanup removes what `orchd dev` left running.
func devCleanup(ctx context.Context, f *devFlags) error {
	var errs []error
	socket := firstAnswering(ctx, privateSocket(f.dataDir), f.containerd)
	if socket == "" {
		if _, err := os.Stat(privateDir(f.dataDir)); err != nil {
			fmt.Fprintln(os.Stderr, "no containerd answers and there is no private one; no containers to remove")
			return nil
		}
		// The private containerd was stopped with orchd dev, but the shims
		// keep the containers alive: start it again to remove them.
		d, err := containerdproc.Start(ctx, privateDir(f.dataDir), slog.Default())
		if err != nil {
			return fmt.Errorf("start the private containerd to remove containers: %w", err)
		}
		defer func() {
			if err := d.Stop(); err != nil {
				slog.Warn("stop containerd", "err", err)
			}
		}()
		socket = d.Socket()
	}
	af := f.agent
	af.dataDir = filepath.Join(f.dataDir, "agent")
	errs = append(errs, cleanupAgent(ctx, &af, socket))
	errs = append(errs, stopPrivateContainerd(f.dataDir))
	return errors.Join(errs...)
}

// stopPrivateContainerd ends the containerd an earlier orchd dev started,
// by the PID it recorded, after checking that PID is still that containerd.
func stopPrivateContainerd(dataDir string) error {
	data, err := os.ReadFile(containerdPIDFile(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return fmt.Errorf("%s: %w", containerdPIDFile(dataDir), err)
	}
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || !strings.Contains(string(cmdline), privateDir(dataDir)) {
		_ = os.Remove(containerdPIDFile(dataDir))
		return nil // gone, or the PID now belongs to someone else
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop containerd %d: %w", pid, err)
	}
	for i := 0; i < 100; i++ {
		if err := syscall.Kill(pid, 0); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "stopped containerd (pid %d)\n", pid)
	return os.Remove(containerdPIDFile(dataDir))
}
