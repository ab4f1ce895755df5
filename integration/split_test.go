package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/orch-io/orch/agent/runtime/containerdproc/containerdtest"
	orchpb "github.com/orch-io/orch/proto"
)

// splitCluster is a master and an agent as two `orchd` processes, so that
// either can be killed alone: the agent cut off from its master, or an
// agent measured by itself. The devCluster helpers (api, tasks, running)
// work on it.
type splitCluster struct {
	*devCluster
	master, agent *proc
}

func startSplitCluster(t testing.TB) *splitCluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the cluster needs root")
	}
	ctrd := containerdtest.Start(t)
	build(t)
	dir := t.TempDir()
	s := &splitCluster{devCluster: &devCluster{t: t, dataDir: dir, ctrd: ctrd}}
	masterDir := filepath.Join(dir, "master")
	agentDir := filepath.Join(dir, "agent")
	s.master = newProc(t, dir, "master", "--data-dir", masterDir, "--bootstrap",
		"--api-addr", freePort(t), "--raft-addr", freePort(t),
		"--cluster-cidr", testCIDR, "--node-timeout", "10s")
	ctr, err := containerd.New(ctrd.Socket())
	if err != nil {
		t.Fatal(err)
	}
	s.ctr = ctr
	t.Cleanup(func() { ctr.Close() })
	t.Cleanup(func() {
		_ = s.agent.stop(false)
		_ = s.master.stop(false)
		cmd := exec.Command(orchdBin, "agent", "--cleanup", "--data-dir", agentDir, "--containerd", ctrd.Socket(), "--bridge", testBridge, "--netns-prefix", testNetNS)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("orchd agent --cleanup: %v\n%s", err, out)
		}
		if t.Failed() {
			t.Logf("master output:\n%s", s.master.output())
			t.Logf("agent output:\n%s", s.agent.output())
		}
	})
	s.master.start()
	s.connect()
	s.agent = newProc(t, dir, "agent", "--data-dir", agentDir, "--name", "split-node",
		"--join", s.api.Servers()[0], "--token-file", filepath.Join(masterDir, "agent.token"),
		"--containerd", ctrd.Socket(), "--listen-addr", freePort(t), "--advertise-addr", "127.0.0.1",
		"--bridge", testBridge, "--netns-prefix", testNetNS, "--capacity-cpu", "4", "--capacity-memory", "4Gi")
	s.agent.start()
	s.nodeReady()
	return s
}

// TestAgentCutOffFromMasters: with its master gone, the agent keeps its
// replicas running and restarting, survives its own kill -9 (adopting them
// from its saved set), and reports what happened once the master is back.
func TestAgentCutOffFromMasters(t *testing.T) {
	s := startSplitCluster(t)
	ctx := context.Background()
	s.loadHello()
	s.apply(helloYAML)
	reps := s.running("hello", 3)
	crashed := reps[0]
	// Running is a started task, not yet a listening server: the crash
	// request below must reach it.
	s.eventually(crashed.DisplayName()+" answers", func() error {
		_, err := httpGet("http://" + crashed.GetIp() + ":8080/")
		return err
	})
	before := s.tasks()

	if err := s.master.stop(true); err != nil {
		t.Fatal(err)
	}
	if _, err := httpGet("http://" + crashed.GetIp() + ":8080/crash?code=3"); err == nil {
		t.Log("the crash request answered before the exit")
	}
	s.eventually(crashed.DisplayName()+" restarted without a master", func() error {
		if pid := s.tasks()[crashed.GetId()]; pid == 0 || pid == before[crashed.GetId()] {
			return fmt.Errorf("task pid %d, was %d", pid, before[crashed.GetId()])
		}
		return nil
	})
	restarted := s.tasks()

	if err := s.agent.stop(true); err != nil {
		t.Fatal(err)
	}
	mark := len(s.agent.output())
	s.agent.start()
	s.eventually("the restarted agent adopts its replicas without a master", func() error {
		if n := strings.Count(s.agent.output()[mark:], `msg="adopted running container"`); n != 3 {
			return fmt.Errorf("%d adopted", n)
		}
		return nil
	})
	// Give a wrong removal time to happen: the stray check runs every 5s.
	time.Sleep(6 * time.Second)
	if now := s.tasks(); !sameTasks(now, restarted) {
		t.Errorf("tasks changed while cut off: %v, were %v", now, restarted)
	}

	s.master.start()
	s.eventually("the master hears what happened", func() error {
		got, err := s.api.GetReplica(ctx, crashed.GetId(), "")
		if err != nil {
			return err
		}
		if got.GetRestarts() != crashed.GetRestarts()+1 || got.GetExitCode() != 3 || got.Observed() != orchpb.ReplicaRunning {
			return fmt.Errorf("%s: state %s restarts %d exitCode %d", got.DisplayName(), got.GetState(), got.GetRestarts(), got.GetExitCode())
		}
		return nil
	})
	s.running("hello", 3)
	if now := s.tasks(); !sameTasks(now, restarted) {
		t.Errorf("tasks changed after the master came back: %v, were %v", now, restarted)
	}
}

func sameTasks(a, b map[string]uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for id, pid := range a {
		if b[id] != pid {
			return false
		}
	}
	return true
}
