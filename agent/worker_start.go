package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/orch-io/orch/agent/runtime"
	orchpb "github.com/orch-io/orch/proto"
)

var errNotCreated = errors.New("container not created")

// prepareAndStart sets up the network, the image and the container (unless
// it exists) and starts a task.
func (w *replicaWorker) prepareAndStart(ctx context.Context, exists bool) error {
	att, err := w.env.network.Setup(ctx, w.id)
	if err != nil {
		return fmt.Errorf("%w: network: %w", errNotCreated, err)
	}
	if ip := att.IP.String(); ip != w.status().GetIp() {
		w.update(func(st *orchpb.ReplicaStatus) { st.Ip = ip })
	}
	if !exists {
		if err := w.create(ctx, att.IP, att.NetNSPath); err != nil {
			return err
		}
	}
	pid, err := w.env.runtime.Start(ctx, w.id)
	if err != nil {
		return fmt.Errorf("start task: %w", err)
	}
	now := w.env.now().UnixMilli()
	checked := w.hasHealthCheck()
	if checked {
		w.setHealthy(false)
	}
	w.update(func(st *orchpb.ReplicaStatus) {
		st.SetObserved(orchpb.ReplicaRunning)
		st.StartedAt, st.Message = now, ""
		if checked {
			// Running means healthy: discovery and rollouts count on it.
			st.SetObserved(orchpb.ReplicaStarting)
			st.Message = "waiting for the first health check"
		}
	})
	if !w.started {
		w.started = true
		w.log.Info("container started", "pid", pid, "ip", att.IP, "since_assigned", w.env.now().Sub(w.assignedAt).Round(time.Microsecond))
	} else {
		w.log.Info("container started", "pid", pid, "ip", att.IP)
	}
	return nil
}

// create pulls the image and makes the main container in the replica's
// network namespace. Every error wraps errNotCreated.
func (w *replicaWorker) create(ctx context.Context, ip netip.Addr, netns string) error {
	spec := w.asg.GetSpec()
	rep := w.asg.GetReplica()
	cfg := w.containerConfig(w.id, netns, processSpec{
		Image: spec.GetImage(), Command: spec.GetCommand(), Args: spec.GetArgs(), Env: spec.GetEnv(),
		User: spec.GetUser(), ReadOnlyRootFS: spec.GetReadOnlyRootFilesystem(), Capabilities: spec.GetCapabilities(),
	})
	cfg.CPUMillis = rep.GetResources().GetCpuMillis()
	cfg.MemoryBytes = rep.GetResources().GetMemoryBytes()
	cfg.Pids = int64(spec.GetResources().PidsOrDefault())
	if own, ok := rep.GetContainerResources()[spec.MainContainerName()]; ok {
		// The replica's resources are its containers' sum; each container
		// is held to its own share.
		cfg.CPUMillis, cfg.MemoryBytes = own.GetCpuMillis(), own.GetMemoryBytes()
	}
	// The replica's devices are the main container's.
	var err error
	if cfg.Devices, cfg.Env, err = deviceConfig(rep, spec.GetEnv(), w.env.devices); err != nil {
		return fmt.Errorf("%w: %w", errNotCreated, err)
	}
	return w.createContainer(ctx, cfg, ip)
}

// processSpec is what a container runs: the main one's fields of the spec,
// or a sidecar's or init container's.
type processSpec struct {
	Image          string
	Command, Args  []string
	Env            map[string]string
	User           string
	ReadOnlyRootFS bool
	Capabilities   *orchpb.Capabilities
}

// containerConfig is the runtime's description of one container of the
// replica, with its own id and log file, without limits.
func (w *replicaWorker) containerConfig(id, netns string, p processSpec) runtime.ContainerConfig {
	rep := w.asg.GetReplica()
	return runtime.ContainerConfig{
		ID:        id,
		Image:     p.Image,
		Command:   p.Command,
		Args:      p.Args,
		Env:       p.Env,
		NetNSPath: netns,
		Hostname:  rep.DisplayName(),
		LogPath:   w.env.files.logPath(id),

		User:            p.User,
		ReadOnlyRootFS:  p.ReadOnlyRootFS,
		AddCapabilities: p.Capabilities.GetAdd(),
		Labels: map[string]string{
			labelReplica:   w.id,
			labelService:   rep.GetService(),
			labelNamespace: rep.GetNamespace(),
		},
	}
}

// createContainer pulls cfg's image and makes the container, replacing one
// left with its id. Every error wraps errNotCreated.
func (w *replicaWorker) createContainer(ctx context.Context, cfg runtime.ContainerConfig, ip netip.Addr) error {
	rt := w.env.runtime
	if err := rt.EnsureImage(ctx, cfg.Image); err != nil {
		return fmt.Errorf("%w: image %s: %w", errNotCreated, cfg.Image, err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.LogPath), 0o700); err != nil {
		return fmt.Errorf("%w: log dir: %w", errNotCreated, err)
	}
	var err error
	if cfg.Mounts, err = w.env.files.mounts(w.asg.GetReplica(), ip); err != nil {
		return fmt.Errorf("%w: resolv.conf and hosts: %w", errNotCreated, err)
	}
	dataMounts, env, err := w.env.files.dataMounts(w.assignment())
	if err != nil {
		return fmt.Errorf("%w: %w", errNotCreated, err)
	}
	cfg.Mounts = append(cfg.Mounts, dataMounts...)
	cfg.Env = withEnv(cfg.Env, env)
	if cfg.ID == w.id { // volumes go into the main container only
		volumes, err := w.env.files.volumeMounts(w.assignment())
		if err != nil {
			return fmt.Errorf("%w: %w", errNotCreated, err)
		}
		cfg.Mounts = append(cfg.Mounts, volumes...)
	}
	err = rt.Create(ctx, cfg)
	if errors.Is(err, runtime.ErrAlreadyExists) {
		// Left by a run that died between create and start: start over.
		if derr := rt.Delete(ctx, cfg.ID); derr != nil {
			return fmt.Errorf("%w: replace old container: %w", errNotCreated, derr)
		}
		err = rt.Create(ctx, cfg)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errNotCreated, err)
	}
	return nil
}

// stopAndRemove stops the task within the grace period and removes the
// container, its snapshot, its network namespace and its saved state.
func (w *replicaWorker) stopAndRemove() {
	// The agent may be shutting down too; removal must still finish.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w.sidecars.stop()
	grace := w.asg.GetSpec().StopGracePeriodOrDefault()
	rt := w.env.runtime
	for _, id := range w.containerIDs() {
		if err := rt.Stop(ctx, id, grace); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			w.log.Warn("stop", "container", id, "err", err)
		}
		if err := rt.Delete(ctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			w.log.Warn("delete container", "container", id, "err", err)
		}
	}
	if err := w.env.network.Teardown(ctx, w.id); err != nil {
		w.log.Warn("remove network", "err", err)
	}
	w.update(func(st *orchpb.ReplicaStatus) {
		// A finished replica keeps its verdict (exit code, reason) to the end.
		if st.Observed() != orchpb.ReplicaFailed && st.Observed() != orchpb.ReplicaStopped {
			st.SetObserved(orchpb.ReplicaStopped)
			st.Message = "stopped"
		}
	})
	if err := w.env.files.remove(w.id, w.containerIDs()[1:]); err != nil {
		w.log.Warn("remove output", "err", err)
	}
	w.log.Info("replica stopped and removed")
}
