package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/e2e/harness"
	orchpb "github.com/orch-io/orch/proto"
)

const statefulYAML = `
kind: Service
name: db
replicas: 1
image: orch.local/hello:1
volumes: [{name: data, mountPath: /data}]
health:
  http: {path: /healthz, port: 8080}
  interval: 1s
resources: {cpu: 50m, memory: 32Mi}
stopGracePeriod: 2s
`

// TestVolumeFollowsItsNode is the multi-host acceptance of persistent
// volumes: a slot whose node is killed stays pending with the message
// naming the node and the volume, runs there again with its data when the
// node returns, and after `volume forget` starts empty on another node;
// the old node's agent then deletes the forgotten data.
func TestVolumeFollowsItsNode(t *testing.T) {
	c := harness.New(t, harness.Options{Orchd: orchdBin})
	c.LoadImage(helloTar)
	c.Apply(statefulYAML)
	rep := c.Running("db", 1, 2*time.Minute)[0]
	home := c.HostOf(rep)
	api := replicaAPI{home, rep}
	// Running means started: the server may not listen yet.
	c.Eventually("the replica writes to its volume", time.Minute, func() error {
		_, err := api.get("/write?" + url.Values{"path": {"/data/kept"}, "data": {"precious"}}.Encode())
		return err
	})
	ctx := context.Background()
	vols, err := c.API.ListVolumes(ctx, "default")
	if err != nil || len(vols) != 1 {
		t.Fatalf("volumes %v (%v)", vols, err)
	}
	dataDir := filepath.Join(home.Dir, "agent", "volumes", filepath.FromSlash(vols[0].RelDir()))

	// The node is lost: the slot waits for it, saying so.
	loseAgent(t, c, home)
	want := "waiting for node " + home.Name + ", which holds volume data"
	c.Eventually("the slot waits for its volume's node", time.Minute, func() error {
		return pendingWith(c, want)
	})

	// The node returns: the slot runs there again, with its data.
	if err := home.Agent.Start(); err != nil {
		t.Fatal(err)
	}
	c.NodeState(home, orchpb.NodeReady, time.Minute)
	back := c.Running("db", 1, 2*time.Minute)[0]
	if h := c.HostOf(back); h != home {
		t.Fatalf("the slot came back on %s, its volume is on %s", h.Name, home.Name)
	}
	c.Eventually("the slot reads its data", time.Minute, func() error {
		body, err := replicaAPI{home, back}.get("/file?path=/data/kept")
		if err != nil || body != "precious" {
			return fmt.Errorf("%q (%v)", body, err)
		}
		return nil
	})

	// Lost again, then forgotten: the slot starts empty elsewhere.
	loseAgent(t, c, home)
	c.Eventually("the slot waits again", time.Minute, func() error { return pendingWith(c, want) })
	if err := c.API.ForgetVolume(ctx, "default", "db", 1, "data", home.Name); err != nil {
		t.Fatal(err)
	}
	moved := c.Running("db", 1, 2*time.Minute)[0]
	elsewhere := c.HostOf(moved)
	if elsewhere == home {
		t.Fatalf("the slot runs on %s, whose node is down", home.Name)
	}
	c.Eventually("the moved slot answers", time.Minute, func() error {
		_, err := replicaAPI{elsewhere, moved}.get("/file?path=/data")
		return err
	})
	if body, err := (replicaAPI{elsewhere, moved}).get("/file?path=/data/kept"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("the slot on %s finds %q (%v), want an empty volume", elsewhere.Name, body, err)
	}
	vols, err = c.API.ListVolumes(ctx, "default")
	if err != nil || len(vols) != 1 || vols[0].GetNode() != c.NodeID(elsewhere) {
		t.Fatalf("volumes after forget %v (%v), want db.1/data on %s", vols, err, elsewhere.Name)
	}

	// The old node returns: its agent deletes the forgotten data.
	if err := home.Agent.Start(); err != nil {
		t.Fatal(err)
	}
	c.NodeState(home, orchpb.NodeReady, time.Minute)
	c.Eventually(home.Name+" deletes the forgotten data", time.Minute, func() error {
		if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
			return fmt.Errorf("%s: %v", dataDir, err)
		}
		return nil
	})
}

// loseAgent kills h's agent and waits until its node is down.
func loseAgent(t *testing.T, c *harness.Cluster, h *harness.Host) {
	t.Helper()
	if err := h.Agent.Kill(); err != nil {
		t.Fatal(err)
	}
	c.NodeState(h, orchpb.NodeDown, time.Minute)
}

// pendingWith: db's one live replica is unplaced with message want.
func pendingWith(c *harness.Cluster, want string) error {
	reps, err := c.Replicas("db")
	if err != nil {
		return err
	}
	for _, r := range reps {
		if r.Desired() == orchpb.DesiredRunning && !r.Terminal() && r.GetNode() == "" && r.GetMessage() == want {
			return nil
		}
	}
	return fmt.Errorf("no pending replica saying %q: %s", want, harness.Summary(reps))
}
