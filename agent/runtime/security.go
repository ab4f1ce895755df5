package runtime

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
)

// droppedCapabilities leave containerd's default set, which is Docker's.
// NET_RAW lets a process forge packets, with other replicas' addresses, on
// the bridge it shares with them (ARP and IP spoofing); the few services
// that ping can add it back.
var droppedCapabilities = []string{"CAP_NET_RAW"}

// securityOpts are the spec options that confine a container: the default
// capability set less droppedCapabilities, then cfg's user, read-only root
// and added capabilities, then containerd's default seccomp profile, which
// must come last because it allows more system calls to some capabilities
// and reads them from the spec. containerd's default spec already sets no
// new privileges and masks the sensitive parts of /proc and /sys.
func securityOpts(cfg ContainerConfig) []oci.SpecOpts {
	opts := []oci.SpecOpts{oci.WithDroppedCapabilities(droppedCapabilities)}
	if cfg.User != "" {
		opts = append(opts, withUser(cfg.User))
	}
	if cfg.ReadOnlyRootFS {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if len(cfg.AddCapabilities) > 0 {
		caps := make([]string, len(cfg.AddCapabilities))
		for i, c := range cfg.AddCapabilities {
			caps[i] = "CAP_" + c
		}
		opts = append(opts, oci.WithAddedCapabilities(caps))
	}
	return append(opts, seccomp.WithDefaultProfile())
}

// withUser runs the process as user, as an image's USER would: the group
// from /etc/passwd when only a user is given, and the user's supplementary
// groups from /etc/group. It must follow the image config, which sets the
// image's user.
func withUser(user string) oci.SpecOpts {
	return func(ctx context.Context, client oci.Client, c *containers.Container, s *oci.Spec) error {
		if err := oci.WithUser(user)(ctx, client, c, s); err != nil {
			return fmt.Errorf("user %q: %w", user, err)
		}
		uid := strconv.FormatUint(uint64(s.Process.User.UID), 10)
		if err := oci.WithAdditionalGIDs(uid)(ctx, client, c, s); err != nil {
			return fmt.Errorf("user %q: supplementary groups: %w", user, err)
		}
		return nil
	}
}

// isCapabilityName: upper-case letters and '_', as the kernel's names
// without their CAP_ prefix.
func isCapabilityName(c string) bool {
	if c == "" || strings.HasPrefix(c, "CAP_") {
		return false
	}
	for _, r := range c {
		if (r < 'A' || r > 'Z') && r != '_' {
			return false
		}
	}
	return true
}
