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

// Config configures an agent.
type Config struct {
	DataDir string
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
	Runtime    runtime.Runtime
	Network    NetworkFactory
	// HeartbeatInterval is how often the agent reports when nothing changed.
	HeartbeatInterval time.Duration
	Logger            *slog.Logger
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
}
