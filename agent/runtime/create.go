package runtime

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/pkg/identifiers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Create implements Runtime.
func (c *Containerd) Create(ctx context.Context, cfg ContainerConfig) error {
	ctx = c.ns(ctx)
	if err := validateConfig(cfg); err != nil {
		return fmt.Errorf("create container %s: %w", cfg.ID, err)
	}
	name, err := normalizeRef(cfg.Image)
	if err != nil {
		return fmt.Errorf("create container %s: %w", cfg.ID, err)
	}
	img, err := c.client.GetImage(ctx, name)
	if err != nil {
		return wrap(err, "create container %s: image %s", cfg.ID, name)
	}

	labels := make(map[string]string, len(cfg.Labels)+1)
	for k, v := range cfg.Labels {
		labels[k] = v
	}
	if cfg.LogPath != "" {
		labels[labelLogPath] = cfg.LogPath
	}
	// Order matters: the snapshotter before the snapshot, the snapshot
	// before the spec (the image config's user is resolved inside it), and
	// the label map before the stop signal that is added to it.
	opts := []client.NewContainerOpts{
		client.WithSnapshotter(c.snapshotter),
		client.WithImage(img),
		client.WithNewSnapshot(cfg.ID, img),
		client.WithContainerLabels(labels),
		client.WithImageStopSignal(img, "SIGTERM"),
		client.WithNewSpec(specOpts(img, cfg)...),
	}
	if c.runcRoot != "" {
		opts = append(opts, client.WithRuntime(defaults.DefaultRuntime, &options.Options{Root: c.runcRoot}))
	}
	_, err = c.client.NewContainer(ctx, cfg.ID, opts...)
	if err != nil {
		return wrap(err, "create container %s from %s", cfg.ID, name)
	}
	c.logger.Debug("container created", "id", cfg.ID, "image", name)
	return nil
}

func validateConfig(cfg ContainerConfig) error {
	var errs []error
	if err := identifiers.Validate(cfg.ID); err != nil {
		errs = append(errs, fmt.Errorf("id: %w", err))
	}
	if cfg.Image == "" {
		errs = append(errs, errors.New("image: empty"))
	}
	if cfg.CPUMillis < 0 {
		errs = append(errs, fmt.Errorf("cpuMillis: %d is negative", cfg.CPUMillis))
	}
	if cfg.MemoryBytes < 0 {
		errs = append(errs, fmt.Errorf("memoryBytes: %d is negative", cfg.MemoryBytes))
	}
	if cfg.Pids < 0 {
		errs = append(errs, fmt.Errorf("pids: %d is negative", cfg.Pids))
	}
	for i, c := range cfg.AddCapabilities {
		if !isCapabilityName(c) {
			errs = append(errs, fmt.Errorf("addCapabilities[%d]: %q is not a capability name like NET_RAW", i, c))
		}
	}
	if cfg.LogPath != "" && !filepath.IsAbs(cfg.LogPath) {
		errs = append(errs, fmt.Errorf("logPath: %q is not absolute", cfg.LogPath))
	}
	if cfg.NetNSPath != "" && !filepath.IsAbs(cfg.NetNSPath) {
		errs = append(errs, fmt.Errorf("netNSPath: %q is not absolute", cfg.NetNSPath))
	}
	for i, d := range cfg.Devices {
		if !filepath.IsAbs(d) {
			errs = append(errs, fmt.Errorf("devices[%d]: %q is not absolute", i, d))
		}
	}
	for k := range cfg.Labels {
		if isReservedLabel(k) {
			errs = append(errs, fmt.Errorf("labels: key %q is reserved", k))
		}
	}
	return errors.Join(errs...)
}

// isReservedLabel: keys this package or containerd sets on containers.
func isReservedLabel(k string) bool {
	return strings.HasPrefix(k, LabelPrefix) || strings.HasPrefix(k, "io.containerd.")
}

// specOpts builds the OCI spec on top of containerd's default, which already
// has fresh pid, ipc, uts, mount and network namespaces and the cgroup
// /<namespace>/<id>.
func specOpts(img client.Image, cfg ContainerConfig) []oci.SpecOpts {
	opts := []oci.SpecOpts{oci.WithImageConfigArgs(img, cfg.Args)}
	if len(cfg.Command) > 0 {
		opts = append(opts, oci.WithProcessArgs(slices.Concat(cfg.Command, cfg.Args)...))
	}
	opts = append(opts, oci.WithEnv(envList(cfg.Env)))

	hostname := cfg.Hostname
	if hostname == "" {
		hostname = cfg.ID[:min(len(cfg.ID), 63)]
	}
	opts = append(opts, oci.WithHostname(hostname))

	if cfg.NetNSPath != "" {
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{
			Type: specs.NetworkNamespace,
			Path: cfg.NetNSPath,
		}))
	}
	if cfg.CPUMillis > 0 {
		opts = append(opts,
			oci.WithCPUCFS(cpuQuota(cfg.CPUMillis), cfsPeriod),
			oci.WithCPUShares(cpuShares(cfg.CPUMillis)))
	}
	if cfg.MemoryBytes > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(cfg.MemoryBytes)))
		// Memory plus swap equal to memory: a limited container must not
		// swap, or the limit would mean nothing on hosts with swap.
		if detectCgroups().swapAccounting {
			opts = append(opts, oci.WithMemorySwap(cfg.MemoryBytes))
		}
	}
	if cfg.Pids > 0 {
		opts = append(opts, oci.WithPidsLimit(cfg.Pids))
	}
	if len(cfg.Mounts) > 0 {
		opts = append(opts, oci.WithMounts(cfg.Mounts))
	}
	for _, path := range cfg.Devices {
		opts = append(opts, oci.WithLinuxDevice(path, "rwm"))
	}
	opts = append(opts, securityOpts(cfg)...)
	opts = append(opts, requireArgs)
	return opts
}

// requireArgs fails early, with a clear message, a container that would run
// nothing (an image without entrypoint or cmd, and no Command).
func requireArgs(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	if s.Process == nil || len(s.Process.Args) == 0 {
		return errors.New("no command: the image has no entrypoint or cmd and none was given")
	}
	return nil
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}
