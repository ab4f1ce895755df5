package agent

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/orch-io/orch/agent/runtime"
	orchpb "github.com/orch-io/orch/proto"
)

// configRuntime is fakeRuntime keeping the last ContainerConfig it was
// given.
type configRuntime struct {
	*fakeRuntime
	cfg runtime.ContainerConfig
}

func (c *configRuntime) Create(_ context.Context, cfg runtime.ContainerConfig) error {
	c.cfg = cfg
	return nil
}

func TestWorkerCreatePassesContainerOptions(t *testing.T) {
	ip := netip.MustParseAddr("10.1.0.2")
	for _, tc := range []struct {
		name string
		edit func(*orchpb.ServiceSpec)
		want runtime.ContainerConfig
	}{
		// A spec stored before resources.pids existed still gets a limit.
		{"defaults", func(*orchpb.ServiceSpec) {}, runtime.ContainerConfig{Pids: orchpb.DefaultPids}},
		{"options", func(s *orchpb.ServiceSpec) {
			s.Resources = &orchpb.Resources{Pids: 64}
			s.User, s.ReadOnlyRootFilesystem = "1000:1000", true
			s.Capabilities = &orchpb.Capabilities{Add: []string{"NET_RAW"}}
		}, runtime.ContainerConfig{Pids: 64, User: "1000:1000", ReadOnlyRootFS: true, AddCapabilities: []string{"NET_RAW"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := &configRuntime{fakeRuntime: newFakeRuntime()}
			asg := assignment("r1", orchpb.RestartAlways, 8080)
			tc.edit(asg.Spec)
			w := newReplicaWorker(testEnv(t, rt), asg, nil, nil)
			if err := w.create(context.Background(), ip, ""); err != nil {
				t.Fatal(err)
			}
			got := rt.cfg
			if got.Pids != tc.want.Pids || got.User != tc.want.User || got.ReadOnlyRootFS != tc.want.ReadOnlyRootFS ||
				!slices.Equal(got.AddCapabilities, tc.want.AddCapabilities) {
				t.Errorf("config pids %d user %q readOnly %v capabilities %v, want %d %q %v %v",
					got.Pids, got.User, got.ReadOnlyRootFS, got.AddCapabilities,
					tc.want.Pids, tc.want.User, tc.want.ReadOnlyRootFS, tc.want.AddCapabilities)
			}
		})
	}
}
