package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/orch-io/orch/agent/runtime/containerdproc/containerdtest"
)

// Names that keep this test's network and containers apart from other
// tests' on the same machine.
const (
	agentBridge = "orchcp0"
	agentNetNS  = "orchcp-"
	agentCIDR   = "10.198.0.0/16"
)

type replicaView struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	Node      string `json:"node"`
	Restarts  int32  `json:"restarts"`
	StartedAt any    `json:"startedAt"`
	IP        string `json:"ip"`
}

// TestRestartAllKeepsReplicas is acceptance 3 with an agent: a real agent
// (joined to all three masters) runs a replica; the leader is killed and
// comes back, then all masters stop and start again; the cluster serves the
// same state, the node is never declared down, and the replica was not
// restarted (same container task, same PID, no restarts).
func TestRestartAllKeepsReplicas(t *testing.T) {
	ctrd := containerdtest.Start(t) // skips without root or containerd
	c := newCluster(t, 3, "--cluster-cidr", agentCIDR, "--node-timeout", "10s")
	if out, err := c.orchctl(c.masters[1].url(), "image", "load", helloTar(t)); err != nil {
		t.Fatalf("orchctl image load: %v\n%s", err, out)
	}
	startAgent(t, c, ctrd.Socket())

	body := []byte(`{"kind":"Service","name":"hello","replicas":1,"image":"orch.local/hello:1","args":["--port=8080"],"resources":{"cpu":"100m","memory":"32Mi"},"stopGracePeriod":"2s"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	code, out, _, err := c.do(ctx, http.MethodPut, c.masters[2].url(), "/v1/namespaces/default/services/hello", body, nil)
	cancel()
	if err != nil || code != http.StatusCreated {
		t.Fatalf("apply hello: %d %s %v", code, out, err)
	}
	before := runningHello(t, c)
	pidBefore := taskPID(t, ctrd.Socket(), before.ID)

	restartLeaderThenAll(t, c, ctrd.Socket(), before.ID, pidBefore)
	// Let the agent reconnect and report, and the new leader's node grace
	// period pass a little: the node must stay ready and the replica be
	// the same one.
	time.Sleep(3 * time.Second)
	after := runningHello(t, c)
	if after.ID != before.ID || after.Restarts != 0 || fmt.Sprint(after.StartedAt) != fmt.Sprint(before.StartedAt) {
		t.Fatalf("the replica changed across the masters' restart:\nbefore %+v\nafter  %+v", before, after)
	}
	if pid := taskPID(t, ctrd.Socket(), before.ID); pid != pidBefore {
		t.Fatalf("the replica's task was restarted: pid %d, was %d", pid, pidBefore)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	code, nodes, _, err := c.do(ctx, http.MethodGet, c.masters[0].url(), "/v1/nodes", nil, nil)
	cancel()
	if err != nil || code != http.StatusOK || !strings.Contains(string(nodes), `"state":"ready"`) {
		t.Fatalf("nodes after the restart: %d %s %v", code, nodes, err)
	}
}

// startAgent starts an agent that joins all of c's masters and runs its
// replicas in the containerd at socket, and returns its data directory;
// the test's cleanup stops it and removes its network and containers.
func startAgent(t testing.TB, c *cluster, socket string) (dataDir string) {
	var urls []string
	for _, m := range c.masters {
		urls = append(urls, m.url())
	}
	agentDir := t.TempDir()
	agent := &master{t: t, id: "agent", dir: agentDir, out: &syncBuffer{}}
	agent.args = []string{"agent", "--data-dir", agentDir, "--name", "cp-node",
		"--join", strings.Join(urls, ","), "--token-file", filepath.Join(c.masters[0].dir, "agent.token"),
		"--containerd", socket, "--listen-addr", freePort(t), "--advertise-addr", "127.0.0.1",
		"--bridge", agentBridge, "--netns-prefix", agentNetNS, "--capacity-cpu", "4", "--capacity-memory", "4Gi"}
	t.Cleanup(func() {
		agent.stop()
		cmd := exec.Command(orchdBin, "agent", "--cleanup", "--data-dir", agentDir, "--containerd", socket, "--bridge", agentBridge, "--netns-prefix", agentNetNS)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("orchd agent --cleanup: %v\n%s", err, out)
		}
		if t.Failed() {
			t.Logf("agent output:\n%s", tail(agent.out.String(), 100))
		}
	})
	agent.start()
	return agentDir
}

// runningHello waits for hello's one replica to run and returns it.
func runningHello(t testing.TB, c *cluster) replicaView {
	t.Helper()
	var rep replicaView
	c.eventually("hello's replica to run", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		code, body, _, err := c.do(ctx, http.MethodGet, c.live()[0].url(), "/v1/replicas?service=hello&namespace=default", nil, nil)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("%d %s %v", code, body, err)
		}
		var reps []replicaView
		if err := json.Unmarshal(body, &reps); err != nil {
			return err
		}
		if len(reps) != 1 || reps[0].State != "running" {
			return fmt.Errorf("replicas: %+v", reps)
		}
		rep = reps[0]
		return nil
	})
	return rep
}

// restartLeaderThenAll kills the leader hard and brings it back, then
// stops every master and starts them again, checking that the replica's
// task (pid in the containerd at socket) runs on while they are down.
func restartLeaderThenAll(t *testing.T, c *cluster, socket, id string, pid uint32) {
	// First the leader dies hard: the agent (whichever master it talked
	// to) carries on with the others.
	leader := c.leader()
	leader.kill9()
	c.leader()
	leader.start()
	c.waitHealthy(3)

	for _, m := range c.masters {
		m.stop()
	}
	// The agent is cut off meanwhile; its replica keeps running.
	time.Sleep(3 * time.Second)
	if now := taskPID(t, socket, id); now != pid {
		t.Fatalf("the replica's task changed while the masters were down: pid %d, was %d", now, pid)
	}
	for _, m := range c.masters {
		m.start()
	}
	c.waitHealthy(3)
}

// taskPID is the PID of the replica's task in the agent's containerd
// namespace (0 if it has none).
func taskPID(t *testing.T, socket, id string) uint32 {
	t.Helper()
	ctr, err := containerd.New(socket)
	if err != nil {
		t.Fatal(err)
	}
	defer ctr.Close()
	ctx := namespaces.WithNamespace(context.Background(), "orch")
	cont, err := ctr.LoadContainer(ctx, id)
	if err != nil {
		t.Fatalf("container %s: %v", id, err)
	}
	task, err := cont.Task(ctx, nil)
	if err != nil {
		t.Fatalf("task of %s: %v", id, err)
	}
	return task.Pid()
}
