package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	"golang.org/x/sys/unix"

	"github.com/orch-io/orch/api/client"
	orchpb "github.com/orch-io/orch/proto"
)

// TestDevicesEndToEnd: a node advertising two device nodes (char 1:3
// copies the test makes) runs two replicas asking for one each, every
// container with exactly its own device and ORCH_DEVICES_GPU naming it;
// the third replica waits, saying the node lacks the device.
func TestDevicesEndToEnd(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, name := range []string{"gpu0", "gpu1"} {
		p := filepath.Join(dir, name)
		if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatalf("mknod %s: %v", p, err)
		}
		paths = append(paths, p)
	}
	d := startDevCluster(t, "--device", "gpu="+strings.Join(paths, ","))
	d.loadHello()
	d.apply(`
kind: Service
name: trainer
replicas: 3
image: orch.local/hello:1
args: ["--port=8080"]
resources: {cpu: 10m, memory: 16Mi}
placement: {devices: {gpu: 1}}
`)
	var running []*orchpb.Replica
	d.eventually("two trainers run and the third waits for a device", func() error {
		reps, _, err := d.api.ListReplicas(context.Background(), client.ReplicaFilter{Namespace: "default", Service: "trainer"})
		if err != nil {
			return err
		}
		running = nil
		waiting := ""
		for _, r := range reps {
			switch {
			case r.Observed() == orchpb.ReplicaRunning:
				running = append(running, r)
			case r.GetNode() == "":
				waiting = r.GetMessage()
			}
		}
		if len(running) != 2 || !strings.Contains(waiting, "1 lacks device gpu (need 1)") {
			return fmt.Errorf("%d running, waiting one says %q: %v", len(running), waiting, summary(reps))
		}
		return nil
	})
	ctx := namespaces.WithNamespace(context.Background(), containerdNS)
	var given []string
	for _, r := range running {
		if len(r.GetDevices()) != 1 || len(r.GetDevices()[0].GetPaths()) != 1 {
			t.Fatalf("%s holds devices %v, want one gpu", r.DisplayName(), r.GetDevices())
		}
		path := r.GetDevices()[0].GetPaths()[0]
		given = append(given, path)
		ctr, err := d.ctr.LoadContainer(ctx, r.GetId())
		if err != nil {
			t.Fatal(err)
		}
		spec, err := ctr.Spec(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var devs []string
		for _, dev := range spec.Linux.Devices {
			devs = append(devs, dev.Path)
		}
		if !slices.Equal(devs, []string{path}) {
			t.Errorf("%s: container devices %v, want exactly [%s]", r.DisplayName(), devs, path)
		}
		if !slices.Contains(spec.Process.Env, "ORCH_DEVICES_GPU="+path) {
			t.Errorf("%s: env %v lacks ORCH_DEVICES_GPU=%s", r.DisplayName(), spec.Process.Env, path)
		}
	}
	slices.Sort(given)
	if !slices.Equal(given, paths) {
		t.Errorf("devices given %v, want each of %v once", given, paths)
	}
}
