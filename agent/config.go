package agent

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/netoverlay"
	orchpb "github.com/orch-io/orch/proto"
)

// Network gives each replica its network namespace and overlay address.
type Network interface {
	Setup(ctx context.Context, replicaID string) (netoverlay.Attachment, error)
	Teardown(ctx context.Context, replicaID string) error
	Attached() []string
}

// NetworkFactory builds the node's network once its subnet is known.
type NetworkFactory func(subnet netip.Prefix) (Network, error)

// Overlay is a Network that also reaches the other nodes: it keeps routes
// to the peers' subnets, the iptables rules and published host ports in
// step (Run), and its gateway hosts the node's DNS server.
type Overlay interface {
	Network
	// Run keeps peers and rules installed, repairing drift, until ctx ends.
	Run(ctx context.Context) error
	// SetPeers and SetHostPorts replace the desired state; safe to call
	// from any goroutine, at any time (before Run too).
	SetPeers(peers []netoverlay.Peer)
	SetHostPorts(ports []netoverlay.HostPort)
	Gateway() netip.Addr
}

// OverlayFactory builds the node's overlay once its subnet and the cluster
// CIDR are known.
type OverlayFactory func(subnet, clusterCIDR netip.Prefix) (Overlay, error)

// DNSConfig configures the node's DNS server (on the overlay's gateway).
type DNSConfig struct {
	// Disabled leaves replicas with the image's own resolv.conf and hosts.
	Disabled bool
	// ResolvConf lists the node's own resolvers, for names outside the
	// cluster (default /etc/resolv.conf).
	ResolvConf string
	// Port is 53 unless a test says otherwise.
	Port int
	// TTL of the answers (default 5s).
	TTL time.Duration
}

// Config configures an agent.
type Config struct {
	DataDir string
	// VolumeDir holds the persistent volumes' data (default DATA/volumes).
	VolumeDir string
	// Masters are the API URLs to join through; the agent follows them in
	// turn when one stops answering.
	Masters []string
	Token   string
	Name    string
	Labels  map[string]string
	// Address is the node's address on the underlay network.
	Address string
	// ListenAddr is where the agent serves logs to the masters (HOST:PORT;
	// port 0 picks one).
	ListenAddr string
	Capacity   *orchpb.ResourceAmounts
	// Devices are the device paths the node advertises by name (--device);
	// a container gets only those of them the scheduler gave its replica.
	Devices []*orchpb.DeviceGroup
	Runtime runtime.Runtime
	Network NetworkFactory
	// Overlay, when set, is used instead of Network.
	Overlay OverlayFactory
	DNS     DNSConfig
	// HeartbeatInterval is how often the agent reports when nothing changed.
	HeartbeatInterval time.Duration
	Logger            *slog.Logger

	// LogMaxSize is the size past which a replica's output file is
	// rotated; LogMaxFiles counts the files kept per replica, the current
	// one included; LogCheckInterval is how often sizes are checked.
	// Zero values take the logs package's defaults.
	LogMaxSize       int64
	LogMaxFiles      int
	LogCheckInterval time.Duration
	// ImageGCHighPercent: when the disk holding images is fuller than
	// this, images no container or assignment uses are removed, least
	// recently used first, until it is under ImageGCLowPercent. Zero
	// disables collection.
	ImageGCHighPercent, ImageGCLowPercent float64
	// ImageGCInterval is how often disk use is checked (default 1m).
	ImageGCInterval time.Duration
}

func (c *Config) defaults() {
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ListenAddr == "" {
		c.ListenAddr = ":7402"
	}
	if c.DNS.ResolvConf == "" {
		c.DNS.ResolvConf = "/etc/resolv.conf"
	}
	if c.DNS.Port == 0 {
		c.DNS.Port = 53
	}
	if c.ImageGCInterval <= 0 {
		c.ImageGCInterval = time.Minute
	}
	if c.ImageGCLowPercent <= 0 || c.ImageGCLowPercent > c.ImageGCHighPercent {
		c.ImageGCLowPercent = max(c.ImageGCHighPercent-5, 0)
	}
}
