package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	orchpb "github.com/orch-io/orch/proto"
)

const helloYAML = `
kind: Service
name: hello
replicas: 3
image: orch.local/hello:1
args: ["--port=8080"]
ports: [{name: http, port: 8080}]
resources: {cpu: 100m, memory: 32Mi}
restart: {policy: always, backoffInitial: 200ms, backoffMax: 5s}
stopGracePeriod: 2s
`

func httpGet(url string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), err
}

// TestWalkingSkeleton drives one dev cluster through the acceptance of the
// walking skeleton, in order: apply, serve, restart on kill and crash,
// survive kill -9 of orchd itself, scale, and refuse bad input.
func TestWalkingSkeleton(t *testing.T) {
	d := startDevCluster(t)
	d.loadHello()
	d.apply(helloYAML)
	reps := d.running("hello", 3)

	t.Run("replicas answer HTTP on their overlay address", func(t *testing.T) { replicasAnswerHTTP(t, reps) })
	t.Run("logs show the requests", func(t *testing.T) { logsShowRequests(t, d) })
	t.Run("kill -9 of a container's process restarts it once", func(t *testing.T) { killedProcessRestartsOnce(t, d, reps[0]) })
	t.Run("repeated crashes back off", func(t *testing.T) { crashesBackOff(t, d, reps[1]) })
	t.Run("kill -9 of orchd keeps everything and restarts nothing", func(t *testing.T) { orchdKill9KeepsEverything(t, d) })
	t.Run("scale follows in containerd, snapshots included", func(t *testing.T) { scaleFollowsInContainerd(t, d) })
	t.Run("If-Match makes writes conditional", func(t *testing.T) { ifMatchMakesWritesConditional(t, d) })
	t.Run("watch streams changes after an index", func(t *testing.T) { watchStreamsChanges(t, d) })
	t.Run("bad input is refused with the field named, and nothing is stored", func(t *testing.T) { badInputRefused(t, d) })
}

// replicasAnswerHTTP checks that every replica answers with its own
// hostname on its overlay address.
func replicasAnswerHTTP(t *testing.T, reps []*orchpb.Replica) {
	for _, r := range reps {
		if r.GetIp() == "" {
			t.Fatalf("%s has no IP", r.DisplayName())
		}
		// Without a health check, running is a started task: its server
		// may need a moment to listen on a loaded machine.
		var body string
		var err error
		if !waitFor(defaultTimeout, func() bool { body, err = httpGet("http://" + r.GetIp() + ":8080/"); return err == nil }) {
			t.Fatalf("%s: %v", r.DisplayName(), err)
		}
		if !strings.Contains(body, r.DisplayName()) {
			t.Errorf("%s answered %q, want its hostname %s in it", r.DisplayName(), body, r.DisplayName())
		}
	}
}

// logsShowRequests checks that hello.1's logs hold the requests it served.
func logsShowRequests(t *testing.T, d *devCluster) {
	ctx := context.Background()
	rc, err := d.api.Logs(ctx, "hello.1", "default", false, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out, _ := io.ReadAll(rc)
	if !strings.Contains(string(out), "method=GET path=/") {
		t.Errorf("logs of hello.1 = %q, want a request line", out)
	}
}

// killedProcessRestartsOnce kills r's process and waits for it to run
// again, restarted once, with a new task.
func killedProcessRestartsOnce(t *testing.T, d *devCluster, r *orchpb.Replica) {
	ctx := context.Background()
	pid := d.tasks()[r.GetId()]
	if pid == 0 {
		t.Fatalf("no task for %s", r.GetId())
	}
	if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d.eventually(r.DisplayName()+" runs again with restarts=1", func() error {
		got, err := d.api.GetReplica(ctx, r.GetId(), "")
		if err != nil {
			return err
		}
		if got.Observed() != orchpb.ReplicaRunning || got.GetRestarts() != 1 {
			return fmt.Errorf("state %s restarts %d (%s)", got.GetState(), got.GetRestarts(), got.GetMessage())
		}
		if newPID := d.tasks()[r.GetId()]; newPID == pid || newPID == 0 {
			return fmt.Errorf("task pid %d, was %d", newPID, pid)
		}
		return nil
	})
}

// crashesBackOff crashes r three times and checks each restart waits
// the growing backoff and records the exit code.
func crashesBackOff(t *testing.T, d *devCluster, r *orchpb.Replica) {
	ctx := context.Background()
	// Each restart waits at least the backoff: 200ms, 400ms, 800ms.
	minimum := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	for i, least := range minimum {
		before, err := d.api.GetReplica(ctx, r.GetId(), "")
		if err != nil {
			t.Fatal(err)
		}
		crashedAt := crash(t, r)
		var after *orchpb.Replica
		d.eventually("the replica runs again after crash "+fmt.Sprint(i+1), func() error {
			got, err := d.api.GetReplica(ctx, r.GetId(), "")
			if err != nil {
				return err
			}
			if got.Observed() != orchpb.ReplicaRunning || got.GetRestarts() != before.GetRestarts()+1 {
				return fmt.Errorf("state %s restarts %d (%s)", got.GetState(), got.GetRestarts(), got.GetMessage())
			}
			after = got
			return nil
		})
		gap := time.UnixMilli(after.GetStartedAt()).Sub(crashedAt)
		if gap < least {
			t.Errorf("restart %d came %v after the crash, want at least the backoff %v", i+1, gap, least)
		}
		if after.GetExitCode() != 3 {
			t.Errorf("exitCode = %d, want 3", after.GetExitCode())
		}
	}
}

// crash asks r to exit with code 3 and returns when it was asked. A
// restarted replica is running as soon as its process started, before it
// listens: a refused connection is retried, anything else (the answer, or
// the connection dropped as the process exits) means the request arrived.
func crash(t *testing.T, r *orchpb.Replica) time.Time {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		sent := time.Now()
		_, err := httpGet("http://" + r.GetIp() + ":8080/crash?code=3")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return sent
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s refused connections for 10s: %v", r.DisplayName(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// orchdKill9KeepsEverything kills orchd with SIGKILL and starts it again:
// the same tasks run and the service's version is unchanged.
func orchdKill9KeepsEverything(t *testing.T, d *devCluster) {
	ctx := context.Background()
	// At rest first: the crashes above keep the rollout open, and its
	// end, recorded after the restart, would move the version.
	var services []*orchpb.Service
	d.eventually("the rollout of hello to be recorded complete", func() error {
		var err error
		if services, _, err = d.api.ListServices(ctx, ""); err != nil {
			return err
		}
		if len(services) != 1 || services[0].GetStatus().RolloutState() != orchpb.UpdateCompleted {
			return fmt.Errorf("services: %v", services)
		}
		return nil
	})
	before := d.tasks()
	d.kill9()
	d.start()
	d.running("hello", 3)
	after := d.tasks()
	for id, pid := range before {
		if after[id] != pid {
			t.Errorf("container %s: task pid %d before, %d after the restart of orchd", id, pid, after[id])
		}
	}
	again, _, err := d.api.ListServices(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(services) || again[0].GetVersion() != services[0].GetVersion() {
		t.Errorf("services changed across the restart: %v -> %v", services, again)
	}
}

// scaleFollowsInContainerd scales hello up and down and waits for
// containerd to hold as many containers and snapshots.
func scaleFollowsInContainerd(t *testing.T, d *devCluster) {
	ctx := context.Background()
	for _, n := range []int{5, 1} {
		if _, err := d.api.ScaleService(ctx, "default", "hello", int32(n)); err != nil {
			t.Fatal(err)
		}
		d.running("hello", n)
		d.eventually(fmt.Sprintf("containerd holds %d containers and snapshots", n), func() error {
			if got := len(d.tasks()); got != n {
				return fmt.Errorf("%d containers", got)
			}
			if got := d.snapshots(); got != n {
				return fmt.Errorf("%d active snapshots", got)
			}
			return nil
		})
	}
}

// ifMatchMakesWritesConditional applies with a stale version (409) and
// with the current one (accepted).
func ifMatchMakesWritesConditional(t *testing.T, d *devCluster) {
	ctx := context.Background()
	svc, err := d.api.GetService(ctx, "default", "hello")
	if err != nil {
		t.Fatal(err)
	}
	stale := svc.GetVersion() - 1
	_, err = d.api.ApplyService(ctx, svc.GetSpec(), &stale)
	var we *api.Error
	if !errors.As(err, &we) || we.Status != http.StatusConflict {
		t.Fatalf("apply with a stale If-Match: got %v, want 409", err)
	}
	current := svc.GetVersion()
	if _, err := d.api.ApplyService(ctx, svc.GetSpec(), &current); err != nil {
		t.Fatalf("apply with the current If-Match: %v", err)
	}
}

// watchStreamsChanges watches services after the current index and
// expects the event of a scale.
func watchStreamsChanges(t *testing.T, d *devCluster) {
	ctx := context.Background()
	_, index, err := d.api.ListServices(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	watchCtx, cancel := context.WithTimeout(ctx, defaultTimeout)
	defer cancel()
	events, errs := d.api.Watch(watchCtx, index, "service")
	if _, err := d.api.ScaleService(ctx, "default", "hello", 2); err != nil {
		t.Fatal(err)
	}
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatalf("watch ended: %v", <-errs)
		}
		if ev.Kind != "service" || ev.Type != "put" || ev.Index <= index {
			t.Errorf("event %+v, want a service put after index %d", ev, index)
		}
	case <-watchCtx.Done():
		t.Fatal("no watch event after a scale")
	}
	if _, err := d.api.ScaleService(ctx, "default", "hello", 3); err != nil {
		t.Fatal(err)
	}
	d.running("hello", 3)
}

// badInputRefused sends invalid services (400 naming the field, nothing
// stored) and requests with no or a wrong token (401).
func badInputRefused(t *testing.T, d *devCluster) {
	ctx := context.Background()
	cases := []struct{ body, field string }{
		{`{"kind":"Service","name":"bad","image":"x","colour":"red"}`, "colour"},
		{`{"kind":"Service","name":"Bad_Name","image":"x"}`, "name"},
		{`{"kind":"Service","name":"bad","image":"x","replicas":-1}`, "replicas"},
		{`{"kind":"Service","name":"bad","image":"x","stopGracePeriod":"soon"}`, "stopGracePeriod"},
	}
	for _, c := range cases {
		name := "bad"
		if c.field == "name" {
			name = "Bad_Name"
		}
		_, err := d.api.Do(ctx, http.MethodPut, "/v1/namespaces/default/services/"+name, strings.NewReader(c.body), nil)
		var we *api.Error
		if !errors.As(err, &we) || we.Status != http.StatusBadRequest || we.Field != c.field {
			t.Errorf("PUT %s: got %v, want 400 naming %q", c.body, err, c.field)
		}
	}
	services, _, err := d.api.ListServices(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(services) != 1 {
		t.Errorf("services after bad input: %d, want only hello", len(services))
	}
	for _, token := range []string{"", "ORCH-1-wrong"} {
		cfg := &client.Config{Server: d.api.Servers()[0], Token: token, CA: d.caPEM()}
		anon, err := client.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = anon.ListServices(ctx, "")
		var we *api.Error
		if !errors.As(err, &we) || we.Status != http.StatusUnauthorized {
			t.Errorf("token %q: got %v, want 401", token, err)
		}
	}
}
