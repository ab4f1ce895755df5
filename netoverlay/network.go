package netoverlay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/orch-io/orch/netoverlay/bridge"
	"github.com/orch-io/orch/netoverlay/ipam"
	"github.com/orch-io/orch/netoverlay/iptables"
	"github.com/orch-io/orch/netoverlay/namespace"
	"github.com/orch-io/orch/netoverlay/vxlan"
)

// Defaults for the zero values of Config.
const (
	DefaultBridgeName  = bridge.DefaultName
	DefaultNetNSPrefix = "orch-"
)

// Config describes the node's overlay network.
type Config struct {
	// BridgeName is the bridge replicas attach to (default orch0); at most
	// 15 bytes.
	BridgeName string
	// Subnet is the node's overlay subnet (its /24 of the cluster CIDR). The
	// bridge gets its first host address as the replicas' gateway.
	Subnet netip.Prefix
	// StateDir holds the IPAM state (required).
	StateDir string
	// NetNSPrefix starts the name of every namespace this network makes
	// (default "orch-"). Cleanup removes every namespace with this prefix.
	NetNSPrefix string
	// NetNSDir is where named namespaces live (default /var/run/netns, where
	// `ip netns` looks).
	NetNSDir string
	// MTU of the replica veths; 0 leaves the kernel default (1500).
	MTU int
	// Logger defaults to slog.Default().
	Logger *slog.Logger

	// Underlay is the node's address on the network between nodes. When it
	// is set, the node gets a VXLAN device there and routes to its peers'
	// subnets (SetPeers), and MTU defaults to the underlay's minus the
	// VXLAN overhead.
	Underlay netip.Addr
	// VXLAN names the device (default orchvx0 for bridge orch0, else the
	// bridge's name and "vx", so a test network never touches the node's
	// device) and its VNI and port (defaults in package vxlan); its address
	// and MTU follow from the rest of Config.
	VXLAN vxlan.Config
	// ClusterCIDR, when set, turns on the iptables rules: forwarding of
	// cluster traffic and published host ports (SetHostPorts).
	ClusterCIDR netip.Prefix
	// Masquerade rewrites the source of traffic from ClusterCIDR to
	// addresses outside it: what a real node needs for egress, and what a
	// test in the machine's own network namespace must never install.
	Masquerade bool
	// HostPortAddr is the node's advertised address: when set, host ports
	// are published on it only, not on every local address (a replica's
	// port would otherwise also answer on the bridge gateway and on any
	// other network the node is in).
	HostPortAddr netip.Addr
	// IPTablesCommand is put before every iptables command (tests run them
	// under nsenter).
	IPTablesCommand []string
	// SyncInterval is how often Run repairs drift (DefaultSyncInterval).
	SyncInterval time.Duration
}

// Attachment is what a replica's container needs from the network.
type Attachment struct {
	// NetNSPath is the network namespace the container must join.
	NetNSPath string
	// IP is the replica's overlay address.
	IP netip.Addr
	// Gateway is the bridge address: the replica's default route and its
	// DNS server.
	Gateway netip.Addr
}

// Network attaches replicas of one node to its overlay bridge. Its methods
// are safe for concurrent use; Setup, Teardown and Cleanup are serialised.
type Network struct {
	cfg     Config
	log     *slog.Logger
	ipam    *ipam.Allocator
	gateway netip.Prefix // gateway address with the subnet's length

	mu sync.Mutex

	nh     *netlink.Handle // the process's own namespace
	tables *iptables.Tables
	kickCh chan struct{}
	syncMu sync.Mutex // one Sync at a time

	desiredMu sync.Mutex
	peers     []Peer
	hostPorts []HostPort
}

// New opens the IPAM state and makes sure the bridge exists with the gateway
// address.
func New(cfg Config) (*Network, error) {
	cfg = cfg.withDefaults()
	if len(cfg.BridgeName) > unix.IFNAMSIZ-1 {
		return nil, fmt.Errorf("netoverlay: bridge name %q longer than %d bytes", cfg.BridgeName, unix.IFNAMSIZ-1)
	}
	if cfg.StateDir == "" {
		return nil, errors.New("netoverlay: Config.StateDir is required")
	}
	alloc, err := ipam.Open(cfg.StateDir, cfg.Subnet, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("netoverlay: %w", err)
	}
	if len(cfg.VXLAN.Name) > unix.IFNAMSIZ-1 {
		return nil, fmt.Errorf("netoverlay: vxlan name %q longer than %d bytes", cfg.VXLAN.Name, unix.IFNAMSIZ-1)
	}
	n := newNetwork(cfg)
	n.ipam, n.gateway = alloc, netip.PrefixFrom(alloc.Gateway(), alloc.Subnet().Bits())
	if _, err := bridge.Ensure(cfg.BridgeName, n.gateway); err != nil {
		return nil, fmt.Errorf("netoverlay: %w", err)
	}
	if err := n.initOverlay(); err != nil {
		return nil, fmt.Errorf("netoverlay: %w", err)
	}
	return n, nil
}

// Subnet returns the node's overlay subnet.
func (n *Network) Subnet() netip.Prefix { return n.ipam.Subnet() }

// Gateway returns the bridge address replicas route through.
func (n *Network) Gateway() netip.Addr { return n.gateway.Addr() }

// NetNSPath returns where the namespace of replicaID is (or would be) mounted.
func (n *Network) NetNSPath(replicaID string) string {
	return namespace.Path(n.cfg.NetNSDir, n.netnsName(replicaID))
}

// Attached returns the ids of the replicas holding an address, sorted. An
// address is taken before anything else is made and released after
// everything is gone, so an id missing here has nothing left to clean.
func (n *Network) Attached() []string { return n.ipam.Owners() }

// withDefaults fills in the names a zero Config leaves out.
func (cfg Config) withDefaults() Config {
	if cfg.BridgeName == "" {
		cfg.BridgeName = DefaultBridgeName
	}
	if cfg.NetNSPrefix == "" {
		cfg.NetNSPrefix = DefaultNetNSPrefix
	}
	if cfg.NetNSDir == "" {
		cfg.NetNSDir = namespace.DefaultDir
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.VXLAN.Name == "" {
		cfg.VXLAN.Name = vxlanNameFor(cfg.BridgeName)
	}
	return cfg
}

// newNetwork is a Network that has made nothing yet: no IPAM, no bridge.
func newNetwork(cfg Config) *Network {
	return &Network{
		cfg:    cfg,
		log:    cfg.Logger.With("bridge", cfg.BridgeName),
		nh:     &netlink.Handle{},
		tables: iptables.New(iptables.ChainsFor(cfg.BridgeName, cfg.VXLAN.Name), cfg.IPTablesCommand...),
		kickCh: make(chan struct{}, 1),
	}
}

// Cleanup removes everything this network made: every replica attachment,
// every namespace with its prefix, every veth on its bridge, the bridge and
// the IPAM state. The Network must not be used afterwards.
func (n *Network) Cleanup() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	for _, id := range n.ipam.Owners() {
		errs = append(errs, n.teardownLocked(id))
	}
	errs = append(errs, n.sweep(), n.ipam.Reset())
	return n.cleanedUp(errs)
}

// Cleanup removes, by name, everything a Network with cfg made, as
// (*Network).Cleanup does, but without creating anything first: `orchd
// agent --cleanup` does not know the node's subnet, and New would give the
// live bridge an address and rewrite the IPAM state on the way.
func Cleanup(cfg Config) error {
	n := newNetwork(cfg.withDefaults())
	return n.cleanedUp([]error{n.sweep(), ipam.Forget(cfg.StateDir)})
}

// sweep removes every namespace with the prefix, every veth left on the
// bridge, the bridge, the VXLAN device and the iptables chains.
func (n *Network) sweep() error {
	var errs []error
	names, err := namespace.List(n.cfg.NetNSDir, n.cfg.NetNSPrefix)
	errs = append(errs, err)
	for _, name := range names {
		errs = append(errs, namespace.Delete(namespace.Path(n.cfg.NetNSDir, name)))
	}
	errs = append(errs, n.deleteBridgePorts())
	errs = append(errs, bridge.Delete(n.cfg.BridgeName))
	errs = append(errs, n.cleanupOverlay())
	return errors.Join(errs...)
}

func (n *Network) cleanedUp(errs []error) error {
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("netoverlay: cleanup of %s: %w", n.cfg.BridgeName, err)
	}
	n.log.Info("netoverlay: cleaned up")
	return nil
}

// deleteBridgePorts deletes the veths still attached to the bridge: leftovers
// of replicas the IPAM state no longer knows.
func (n *Network) deleteBridgePorts() error {
	br, err := netlink.LinkByName(n.cfg.BridgeName)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("bridge %s: look up: %w", n.cfg.BridgeName, err)
	}
	links, err := netlink.LinkList()
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return fmt.Errorf("list links: %w", err)
	}
	var errs []error
	for _, l := range links {
		if l.Attrs().MasterIndex != br.Attrs().Index || l.Type() != "veth" {
			continue
		}
		if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
			errs = append(errs, fmt.Errorf("veth %s: delete: %w", l.Attrs().Name, err))
		}
	}
	return errors.Join(errs...)
}

func checkCtx(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("netoverlay: %s: %w", what, err)
	}
	return nil
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}
