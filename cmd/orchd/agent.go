package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/orch-io/orch/agent"
	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/master/manifest"
	"github.com/orch-io/orch/netoverlay"
	"github.com/orch-io/orch/netoverlay/vxlan"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type agentFlags struct {
	dataDir, join, name, labels, advertise string
	token                                  secretFlags
	listenAddr                             string
	containerd, namespace                  string
	capacityCPU, capacityMemory            string
	bridge, netnsPrefix                    string
	cleanup                                bool
	// overlay networking
	iptables, masquerade bool
	// flags tells which flags were given, for the loopback defaults.
	flags                *pflag.FlagSet
	resolvConf, runcRoot string
	vxlanPort            int
	// singleNode is set by orchd dev: no VXLAN, there are no peers.
	singleNode bool
	ops        agentOpsFlags
	devices    []string
	volumeDir  string
}

func (f *agentFlags) register(cmd *cobra.Command, standalone bool) {
	fl := cmd.Flags()
	if standalone {
		fl.StringVar(&f.dataDir, "data-dir", "/var/lib/orch", "where the agent keeps its identity, saved assignments and logs")
		fl.StringVar(&f.join, "join", "", "https://HOST:PORT[,https://HOST2:PORT...] of the masters")
		f.token.register(fl, "agent join token")
		fl.StringVar(&f.listenAddr, "listen-addr", ":7402", "HOST:PORT of the agent's own endpoint (logs, for the masters)")
		fl.StringVar(&f.containerd, "containerd", "/run/containerd/containerd.sock", "containerd socket")
		fl.BoolVar(&f.cleanup, "cleanup", false, "remove every container, network namespace and link this agent made, then exit")
	}
	fl.StringVar(&f.volumeDir, "volume-dir", "", "where the persistent volumes of the node's slots keep their data (default: DATA-DIR/volumes, the agent's)")
	fl.StringVar(&f.name, "name", "", "node name (default: the host name)")
	fl.StringVar(&f.labels, "labels", "", "node labels, k=v,k2=v2")
	fl.StringVar(&f.advertise, "advertise-addr", "", "this node's IP on the underlay (default: the first non-loopback IPv4)")
	fl.StringVar(&f.namespace, "containerd-namespace", "orch", "containerd namespace the agent keeps its containers in")
	fl.StringVar(&f.capacityCPU, "capacity-cpu", "", "schedulable cpu, e.g. 4 or 3500m (default: the machine's)")
	fl.StringVar(&f.capacityMemory, "capacity-memory", "", "schedulable memory, e.g. 8Gi (default: the machine's)")
	fl.StringArrayVar(&f.devices, "device", nil, "device nodes to advertise under a name, NAME=PATH[,PATH...] (repeatable); a replica asking for placement.devices gets whole ones")
	fl.StringVar(&f.bridge, "bridge", netoverlay.DefaultBridgeName, "name of the replicas' bridge")
	fl.StringVar(&f.netnsPrefix, "netns-prefix", netoverlay.DefaultNetNSPrefix, "prefix of the replicas' network namespace names")
	f.flags = fl
	fl.BoolVar(&f.iptables, "iptables", true, "manage iptables rules: forwarding of cluster traffic, host ports, masquerade (default false when --advertise-addr is a loopback address)")
	fl.BoolVar(&f.masquerade, "masquerade", true, "masquerade traffic from the cluster CIDR to addresses outside it (needs --iptables; default false when --advertise-addr is a loopback address)")
	fl.StringVar(&f.resolvConf, "resolv-conf", "/etc/resolv.conf", "resolv.conf naming the resolvers the node's DNS server forwards names outside the cluster to")
	fl.IntVar(&f.vxlanPort, "vxlan-port", vxlan.DefaultPort, "UDP port of the VXLAN overlay between nodes")
	fl.StringVar(&f.runcRoot, "runc-root", "", "runc state directory (default: containerd's); for several containerds on one machine")
	f.ops.register(fl)
	_ = fl.MarkHidden("bridge")
	_ = fl.MarkHidden("netns-prefix")
	_ = fl.MarkHidden("runc-root")
}

// networkConfig is the node's network: the bridge, and unless this is a
// single-node cluster, a VXLAN device on the advertise address; iptables
// rules for the cluster CIDR when --iptables (an invalid cidr, as in
// cleanup, turns them off).
func (f *agentFlags) networkConfig(subnet, clusterCIDR netip.Prefix) netoverlay.Config {
	cfg := netoverlay.Config{
		BridgeName:  f.bridge,
		NetNSPrefix: f.netnsPrefix,
		Subnet:      subnet,
		StateDir:    filepath.Join(f.dataDir, "net"),
		Logger:      slog.Default(),
		VXLAN:       vxlan.Config{Port: f.vxlanPort},
	}
	if addr, err := netip.ParseAddr(f.advertise); err == nil && !addr.IsLoopback() {
		// Host ports answer on the address the node advertises, not on
		// the bridge gateway or another network the machine is in.
		cfg.HostPortAddr = addr
		if !f.singleNode {
			cfg.Underlay = addr
		}
	}
	if f.enabled("iptables", f.iptables) {
		cfg.ClusterCIDR = clusterCIDR
		cfg.Masquerade = f.enabled("masquerade", f.masquerade)
	}
	return cfg
}

// enabled is the value of a boolean flag that changes the machine's own
// network (iptables rules, masquerade, ip_forward). A node advertising a
// loopback address is alone on this machine (orchd dev, or a test in the
// machine's own namespace): there, such flags are off unless given.
func (f *agentFlags) enabled(name string, value bool) bool {
	if f.flags != nil && f.flags.Changed(name) {
		return value
	}
	if addr, err := netip.ParseAddr(f.advertise); err == nil && addr.IsLoopback() {
		return false
	}
	return value
}

// cleanupNetworkConfig names what cleanup removes: the names come from the
// flags. netoverlay.Cleanup makes nothing, and the config says so too: no
// subnet, underlay, cluster CIDR or masquerade.
func (f *agentFlags) cleanupNetworkConfig() netoverlay.Config {
	cfg := f.networkConfig(netip.Prefix{}, netip.Prefix{})
	cfg.Underlay, cfg.ClusterCIDR, cfg.Masquerade = netip.Addr{}, netip.Prefix{}, false
	return cfg
}

func newAgentCommand() *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the agent: join the cluster and run its replicas on this machine",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if f.cleanup {
				return cleanupAgent(ctx, &f, f.containerd)
			}
			token, err := f.token.get()
			if err != nil {
				return err
			}
			tuneAgentGC()
			return runAgent(ctx, &f, f.containerd, splitList(f.join), token)
		},
	}
	f.register(cmd, true)
	return cmd
}

func (f *agentFlags) agentConfig(masters []string, token string) (agent.Config, error) {
	if token == "" {
		return agent.Config{}, errors.New("--token-file: required (DIR/agent.token, written at bootstrap)")
	}
	if len(masters) == 0 {
		return agent.Config{}, errors.New("--join: at least one master URL is required")
	}
	name := f.name
	if name == "" {
		h, err := os.Hostname()
		if err != nil {
			return agent.Config{}, fmt.Errorf("--name: not given and no host name: %w", err)
		}
		name = h
	}
	labels, err := parseLabels(f.labels)
	if err != nil {
		return agent.Config{}, err
	}
	addr := f.advertise
	if addr == "" {
		addr = defaultAddress()
	}
	capacity, err := capacityFromFlags(f.capacityCPU, f.capacityMemory)
	if err != nil {
		return agent.Config{}, err
	}
	devices, err := parseDevices(f.devices)
	if err != nil {
		return agent.Config{}, err
	}
	if err := checkDeviceNodes(devices); err != nil {
		return agent.Config{}, err
	}
	return agent.Config{
		DataDir:    f.dataDir,
		VolumeDir:  f.volumeDir,
		Masters:    masters,
		Token:      token,
		Name:       name,
		Labels:     labels,
		Address:    addr,
		ListenAddr: f.listenAddr,
		Capacity:   capacity,
		Devices:    devices,
		Overlay: func(subnet, clusterCIDR netip.Prefix) (agent.Overlay, error) {
			return netoverlay.New(f.networkConfig(subnet, clusterCIDR))
		},
		DNS:    agent.DNSConfig{ResolvConf: f.resolvConf},
		Logger: slog.Default(),
	}, nil
}

// runAgent connects to containerd, with images loaded into the cluster
// fetched from a master, and runs the agent until ctx ends.
func runAgent(ctx context.Context, f *agentFlags, socket string, masters []string, token string) error {
	cfg, err := f.agentConfig(masters, token)
	if err != nil {
		return err
	}
	var a *agent.Agent
	source := func(ctx context.Context, ref string) (io.ReadCloser, error) { return a.FetchImage(ctx, ref) }
	opts := append([]runtime.Option{runtime.WithImageSource(source), runtime.WithLogger(slog.Default())}, f.ops.runtimeOptions()...)
	rt, err := f.openRuntime(ctx, socket, opts...)
	if err != nil {
		return err
	}
	defer rt.Close()
	cfg.Runtime = rt
	if err := f.ops.apply(&cfg); err != nil {
		return err
	}
	if a, err = agent.New(cfg); err != nil {
		return err
	}
	return a.Run(ctx)
}

// openRuntime connects to containerd at socket, in the containerd namespace
// and runc root the flags name: the agent and its cleanup must see the same
// containers.
func (f *agentFlags) openRuntime(ctx context.Context, socket string, opts ...runtime.Option) (*runtime.Containerd, error) {
	opts = append(opts, runtime.WithNamespace(f.namespace))
	if f.runcRoot != "" {
		opts = append(opts, runtime.WithRuncRoot(f.runcRoot))
	}
	rt, err := runtime.NewContainerd(ctx, socket, opts...)
	if err != nil {
		return nil, fmt.Errorf("containerd at %s: %w", socket, err)
	}
	return rt, nil
}

// cleanupAgent removes what an agent installed on this machine.
func cleanupAgent(ctx context.Context, f *agentFlags, socket string) error {
	rt, err := f.openRuntime(ctx, socket)
	if err != nil {
		return err
	}
	defer rt.Close()
	infos, err := rt.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, info := range infos {
		if err := rt.Delete(ctx, info.ID); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, agent.CleanupSecretMounts(f.dataDir))
	errs = append(errs, netoverlay.Cleanup(f.cleanupNetworkConfig()))
	fmt.Fprintf(os.Stderr, "removed %d containers and the agent's network (bridge, VXLAN device, iptables chains)\n", len(infos))
	return errors.Join(errs...)
}

func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range splitList(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--labels: %q: want key=value", kv)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func capacityFromFlags(cpu, memory string) (*orchpb.ResourceAmounts, error) {
	capacity, err := agent.MachineCapacity()
	if err != nil {
		return nil, err
	}
	if cpu != "" {
		if capacity.CpuMillis, err = manifest.ParseCPU(cpu); err != nil {
			return nil, fmt.Errorf("--capacity-cpu: %w", err)
		}
	}
	if memory != "" {
		if capacity.MemoryBytes, err = manifest.ParseMemory(memory); err != nil {
			return nil, fmt.Errorf("--capacity-memory: %w", err)
		}
	}
	return capacity, nil
}

// defaultAddress is the first non-loopback IPv4 address of this machine.
func defaultAddress() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "127.0.0.1"
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 || strings.HasPrefix(iface.Name, "orch") || strings.HasPrefix(iface.Name, "ov") {
			continue
		}
		addrs, _ := iface.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	return "127.0.0.1"
}
