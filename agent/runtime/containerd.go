package runtime

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/identifiers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
)

const (
	// DefaultNamespace is the containerd namespace orch's containers live in.
	DefaultNamespace = "orch"
	// DefaultSnapshotter works on ext4 and xfs roots with any kernel orch
	// supports.
	DefaultSnapshotter = "overlayfs"
)

// LabelPrefix starts the container label keys this package reserves.
const LabelPrefix = "io.orch.runtime."

// labelLogPath records ContainerConfig.LogPath, so Start (possibly in a later
// agent process) knows where the shim must write.
const labelLogPath = LabelPrefix + "log-path"

// Containerd is the Runtime backed by a containerd daemon.
type Containerd struct {
	client      *client.Client
	namespace   string
	snapshotter string
	source      ImageSource
	runcRoot    string
	insecure    []string
	logger      *slog.Logger

	imageLocks keyedLocks
}

var _ Runtime = (*Containerd)(nil)

// Option configures NewContainerd.
type Option func(*Containerd)

// WithNamespace sets the containerd namespace (default "orch").
func WithNamespace(ns string) Option { return func(c *Containerd) { c.namespace = ns } }

// WithSnapshotter sets the snapshotter (default "overlayfs").
func WithSnapshotter(name string) Option { return func(c *Containerd) { c.snapshotter = name } }

// WithImageSource sets where EnsureImage looks for an absent image before it
// tries a registry.
func WithImageSource(src ImageSource) Option { return func(c *Containerd) { c.source = src } }

// WithRuncRoot keeps runc's container state under dir instead of the shared
// /run/containerd/runc, so that several containerd daemons on one machine
// (tests, multi-agent e2e) never see each other's containers as existing.
// Use containerdproc's Daemon.RuncRoot for a private daemon.
func WithRuncRoot(dir string) Option { return func(c *Containerd) { c.runcRoot = dir } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *Containerd) { c.logger = l } }

// NewContainerd connects to the containerd at socket and checks that it
// answers; ctx bounds that check.
func NewContainerd(ctx context.Context, socket string, opts ...Option) (*Containerd, error) {
	c := &Containerd{
		namespace:   DefaultNamespace,
		snapshotter: DefaultSnapshotter,
		logger:      slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(c)
	}
	if err := identifiers.Validate(c.namespace); err != nil {
		return nil, fmt.Errorf("containerd namespace %q: %w", c.namespace, err)
	}
	cl, err := client.New(socket)
	if err != nil {
		return nil, fmt.Errorf("connect to containerd %s: %w", socket, err)
	}
	v, err := cl.Version(ctx)
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("connect to containerd %s: %w", socket, err)
	}
	c.client = cl
	c.logger.Debug("connected to containerd", "socket", socket, "version", v.Version, "namespace", c.namespace)
	return c, nil
}

// Close drops the connection. Containers and tasks keep running.
func (c *Containerd) Close() error { return c.client.Close() }

// ns scopes ctx to our namespace; every containerd call goes through it.
func (c *Containerd) ns(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, c.namespace)
}
