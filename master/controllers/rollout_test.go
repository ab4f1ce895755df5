package controllers

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	orchpb "github.com/orch-io/orch/proto"
)

func webSpec(image string, replicas int, update string) string {
	return fmt.Sprintf("kind: Service\nname: web\nreplicas: %d\nimage: %s\nresources: {cpu: 100m}\nupdate: {%s}\n", replicas, image, update)
}

// TestRollingUpdateStaysWithinLimits drives a 4-replica update to the end,
// playing the agents between passes, and checks after every step that the
// service never has more than replicas + maxSurge replicas taking room nor
// fewer than replicas - maxUnavailable running.
func TestRollingUpdateStaysWithinLimits(t *testing.T) {
	for _, tc := range []struct {
		surge, unavailable int
	}{{1, 0}, {0, 1}, {2, 0}, {1, 1}, {2, 2}} {
		t.Run(fmt.Sprintf("surge%d-unavailable%d", tc.surge, tc.unavailable), func(t *testing.T) {
			c := newCluster(t)
			for i := range 4 {
				c.node(fmt.Sprint("n", i), 1000)
			}
			policy := fmt.Sprintf("maxSurge: %d, maxUnavailable: %d", tc.surge, tc.unavailable)
			c.service(webSpec("web:1", 4, policy))
			c.reconcile()
			c.agents(nil)
			c.service(webSpec("web:2", 4, policy))
			maxLive, minRunning, steps := 0, 4, 0
			check := func() {
				n := c.count("web")
				maxLive, minRunning = max(maxLive, n.containers), min(minRunning, n.running)
			}
			for ; steps < 50 && c.count("web").images["web:2"] != 4 || c.count("web").live != 4; steps++ {
				c.reconcile()
				check()
				c.agents(nil)
				check()
			}
			if got := c.count("web"); got.images["web:2"] != 4 || got.live != 4 || got.running != 4 {
				t.Fatalf("after %d steps: %+v, want 4 replicas of web:2 running", steps, got)
			}
			if maxLive > 4+tc.surge {
				t.Errorf("%d replicas took room at once, want at most %d", maxLive, 4+tc.surge)
			}
			if minRunning < 4-tc.unavailable {
				t.Errorf("only %d replicas ran at one point, want at least %d", minRunning, 4-tc.unavailable)
			}
			if tc.surge+tc.unavailable > 1 && steps > 6 {
				t.Errorf("took %d steps; with %d replicas in flight it should be quicker", steps, tc.surge+tc.unavailable)
			}
		})
	}
}

// TestRolloutWaitsForMinHealthy: an old replica is stopped only once its
// slot's new one has run for update.minHealthy without a break.
func TestRolloutWaitsForMinHealthy(t *testing.T) {
	c := newCluster(t)
	c.node("a", 4000)
	clk := newClock()
	c.withReadiness(clk)
	c.service(webSpec("web:1", 2, "minHealthy: 5s"))
	c.reconcile()
	c.agents(nil)
	c.service(webSpec("web:2", 2, "minHealthy: 5s"))
	c.reconcile()
	c.agents(nil)
	c.reconcile()
	if n := c.count("web"); n.live != 3 {
		t.Fatalf("%+v: the first new replica runs, but not for 5s yet: want 3 live (2 old + 1 new)", n)
	}
	clk.advance(3 * time.Second)
	// A restart breaks the run: the clock starts again.
	for _, r := range c.live("web") {
		if r.GetSpec().GetImage() == "web:2" {
			c.apply(&orchpb.Command{Op: &orchpb.Command_ReportReplicaStatus{ReportReplicaStatus: &orchpb.ReportReplicaStatus{
				NodeId: r.GetNode(), Statuses: []*orchpb.ReplicaStatus{{Id: r.GetId(), State: string(orchpb.ReplicaRunning), Restarts: 1}}}}})
		}
	}
	c.reconcile()
	clk.advance(3 * time.Second)
	c.reconcile()
	if n := c.count("web"); n.images["web:1"] != 2 {
		t.Fatalf("%+v: 3s after a restart the new replica must not count yet", n)
	}
	clk.advance(3 * time.Second)
	c.reconcile()
	if n := c.count("web"); n.images["web:1"] != 1 {
		t.Fatalf("%+v: after 6s healthy, want one old replica stopped", n)
	}
	c.agents(nil)
	c.reconcile()
	if n := c.count("web"); n.images["web:1"] != 1 || n.images["web:2"] != 2 {
		t.Fatalf("%+v: once the old one stopped, want the next new one started", n)
	}
}

// rollout is a cluster with the update controller judging its rollouts.
type rollout struct {
	*cluster
	clk *clock
	uc  *UpdateController
}

func newRollout(t *testing.T, nodes int) *rollout {
	c := newCluster(t)
	for i := range nodes {
		c.node(fmt.Sprint("n", i), 4000)
	}
	clk := newClock()
	r := c.withReadiness(clk)
	uc := NewUpdateController(UpdateDeps{Store: c.st, Proposer: proposer{c}, Readiness: r, Logger: slog.New(slog.DiscardHandler)})
	return &rollout{cluster: c, clk: clk, uc: uc}
}

// step is one round: reconcile, agents, the update controller reacting to
// the changes, then its timer.
func (r *rollout) step(state func(*orchpb.Replica) orchpb.ReplicaState) {
	r.t.Helper()
	r.reconcile()
	r.agents(state)
	r.observe()
	for _, every := range []bool{false, true} {
		if err := r.uc.pass(context.Background(), every); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *rollout) update() *orchpb.UpdateStatus { return r.svc("web").GetUpdate() }

// unhealthy plays agents whose new image never passes its health check.
func unhealthy(image string) func(*orchpb.Replica) orchpb.ReplicaState {
	return func(rep *orchpb.Replica) orchpb.ReplicaState {
		if rep.GetSpec().GetImage() == image {
			return orchpb.ReplicaUnhealthy
		}
		return orchpb.ReplicaRunning
	}
}

func TestRolloutCompletes(t *testing.T) {
	r := newRollout(t, 2)
	r.service(webSpec("web:1", 3, ""))
	r.step(nil)
	r.step(nil)
	if u := r.update(); u.RolloutState() != orchpb.UpdateCompleted || u.GetGeneration() != 1 {
		t.Fatalf("creation rollout: %v, want completed generation 1", u)
	}
	r.service(webSpec("web:2", 3, ""))
	if u := r.update(); u.RolloutState() != orchpb.UpdateUpdating || u.GetFromGeneration() != 1 {
		t.Fatalf("after apply: %v, want updating from generation 1", u)
	}
	for range 10 {
		r.step(nil)
	}
	u := r.update()
	if u.RolloutState() != orchpb.UpdateCompleted || u.GetGeneration() != 2 || !strings.Contains(u.GetMessage(), "3/3") {
		t.Fatalf("update: %v, want completed generation 2 with 3/3", u)
	}
}

func TestFailedRolloutRollsBack(t *testing.T) {
	r := newRollout(t, 2)
	policy := "deadline: 30s, onFailure: rollback"
	r.service(webSpec("web:1", 4, policy))
	r.step(nil)
	r.service(webSpec("web:2", 4, policy))
	bad := unhealthy("web:2")
	for range 5 {
		r.step(bad)
		r.clk.advance(10 * time.Second)
	}
	svc := r.svc("web")
	if svc.GetGeneration() != 3 || svc.GetSpec().GetImage() != "web:1" {
		t.Fatalf("generation %d image %s, want the rollback as generation 3 running web:1", svc.GetGeneration(), svc.GetSpec().GetImage())
	}
	if u := r.update(); u.RolloutState() != orchpb.UpdateRollingBack || !strings.Contains(u.GetMessage(), "web.1 not running within 30s (unhealthy)") {
		t.Fatalf("update %v, want rolling_back naming web.1", u)
	}
	for range 10 {
		r.step(bad)
	}
	if u := r.update(); u.RolloutState() != orchpb.UpdateRolledBack {
		t.Fatalf("update %v, want rolled_back", u)
	}
	if n := r.count("web"); n.images["web:1"] != 4 || n.live != 4 || n.running != 4 {
		t.Fatalf("%+v, want all 4 replicas back on web:1 and running", n)
	}
}

func TestFailedRolloutPauses(t *testing.T) {
	r := newRollout(t, 2)
	policy := "deadline: 30s, onFailure: pause"
	r.service(webSpec("web:1", 4, policy))
	r.step(nil)
	r.service(webSpec("web:2", 4, policy))
	bad := unhealthy("web:2")
	for range 5 {
		r.step(bad)
		r.clk.advance(10 * time.Second)
	}
	if u := r.update(); u.RolloutState() != orchpb.UpdatePaused || u.GetGeneration() != 2 {
		t.Fatalf("update %v, want paused at generation 2", u)
	}
	before := r.count("web")
	for range 5 {
		r.step(bad)
		r.clk.advance(10 * time.Second)
	}
	after := r.count("web")
	if after.images["web:2"] != 1 || after.images["web:1"] != 4 || after.live != before.live {
		t.Fatalf("paused rollout moved on: before %+v, after %+v (want the 4 old replicas kept and no new one beyond the first)", before, after)
	}
	if r.svc("web").GetGeneration() != 2 {
		t.Fatalf("a paused rollout must not roll back")
	}
}

// TestNewServiceThatCannotRunFails: a creation has nothing to roll back to.
func TestNewServiceThatCannotRunFails(t *testing.T) {
	r := newRollout(t, 1)
	r.service("kind: Service\nname: web\nreplicas: 1\nimage: web:1\nresources: {cpu: 64}\nupdate: {deadline: 10s, onFailure: rollback}\n")
	for range 3 {
		r.step(nil)
		r.clk.advance(10 * time.Second)
	}
	u := r.update()
	if u.RolloutState() != orchpb.UpdateFailed || !strings.Contains(u.GetMessage(), "1 lacks cpu") {
		t.Fatalf("update %v, want failed with the scheduler's reason", u)
	}
}

func TestManualRollbackRollsOut(t *testing.T) {
	r := newRollout(t, 2)
	r.service(webSpec("web:1", 2, ""))
	r.step(nil)
	r.service(webSpec("web:2", 2, ""))
	for range 6 {
		r.step(nil)
	}
	r.apply(&orchpb.Command{Op: &orchpb.Command_RollbackService{RollbackService: &orchpb.RollbackService{Namespace: "default", Name: "web"}}})
	for range 6 {
		r.step(nil)
	}
	if u := r.update(); u.RolloutState() != orchpb.UpdateRolledBack || u.GetGeneration() != 3 {
		t.Fatalf("update %v, want rolled_back generation 3", u)
	}
	if n := r.count("web"); n.images["web:1"] != 2 || n.live != 2 {
		t.Fatalf("%+v, want 2 replicas of web:1", n)
	}
}

func TestReadinessForgetsRemovedReplicas(t *testing.T) {
	clk := newClock()
	r := NewReadiness(clk.Now)
	a := &orchpb.Replica{Id: "a", State: string(orchpb.ReplicaRunning)}
	b := &orchpb.Replica{Id: "b", State: string(orchpb.ReplicaRunning)}
	r.Observe([]*orchpb.Replica{a, b})
	clk.advance(10 * time.Second)
	c := &orchpb.Replica{Id: "c", State: string(orchpb.ReplicaRunning)}
	r.Observe([]*orchpb.Replica{b, c}) // a gone, c new: same count
	if !r.Ready(b, 5*time.Second) || r.Ready(c, 5*time.Second) {
		t.Fatal("b has run 10s, c just started")
	}
	r.Observe([]*orchpb.Replica{c})
	r.Observe([]*orchpb.Replica{a, c}) // a is back: a new run
	if r.Ready(a, 5*time.Second) {
		t.Fatal("a replica seen again must start a new run")
	}
}

// A slow update pass makes the next change wait in proportion, within a
// second; a quick one, the usual coalescing.
func TestUpdateWaitFollowsThePass(t *testing.T) {
	for _, c := range []struct{ took, want time.Duration }{
		{time.Millisecond, coalesceUpdate},
		{100 * time.Millisecond, 200 * time.Millisecond},
		{5 * time.Second, time.Second},
	} {
		if got := updateWait(c.took); got != c.want {
			t.Errorf("after a pass of %s: wait %s, want %s", c.took, got, c.want)
		}
	}
}

// TestRolloutMovesOnWhenAReplicaComesOfAge: the service controller
// revisits a rollout when its new replica will have run for
// update.minHealthy, though nothing is written then and its full pass
// (Resync) is an hour away.
func TestRolloutMovesOnWhenAReplicaComesOfAge(t *testing.T) {
	c := newCluster(t)
	c.node("a", 4000)
	clk := newClock()
	ready := NewReadiness(clk.Now)
	ctl := NewServiceController(ServiceDeps{Store: c.st, Proposer: proposer{c}, NewID: c.newID, Readiness: ready,
		Resync: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	pass := func() {
		t.Helper()
		if err := ctl.reconcileOnce(ctx, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := ctl.reconcileOnce(ctx, true); err != nil {
		t.Fatal(err)
	}
	c.service(webSpec("web:1", 2, "minHealthy: 5s"))
	pass()
	c.agents(nil)
	pass()
	c.service(webSpec("web:2", 2, "minHealthy: 5s"))
	pass()
	c.agents(nil)
	pass()
	if n := c.count("web"); n.live != 3 {
		t.Fatalf("%+v: want 2 old replicas and the first new one", n)
	}
	if at, ok := ctl.wakes.next(); !ok || !at.Equal(clk.Now().Add(5*time.Second)) {
		t.Fatalf("next look at %v (recorded %v), want when the new replica has run 5s: %v", at, ok, clk.Now().Add(5*time.Second))
	}
	clk.advance(4 * time.Second)
	pass()
	if n := c.count("web"); n.images["web:1"] != 2 {
		t.Fatalf("%+v: after 4s the new replica must not count yet", n)
	}
	clk.advance(time.Second)
	pass()
	if n := c.count("web"); n.images["web:1"] != 1 {
		t.Fatalf("%+v: once the new replica has run 5s, want one old replica stopped with no change seen", n)
	}
	if _, ok := ctl.wakes.next(); ok {
		t.Error("a service still waits, though no replica is running short of minHealthy")
	}
}
