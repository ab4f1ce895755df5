package controllers

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// TestDrainReplacesBeforeStopping drains a node running half of a service
// whose new replicas take two agent rounds to become healthy: every old
// replica keeps running until its replacement runs elsewhere, so the
// service never has fewer than replicas - maxUnavailable (0) running.
func TestDrainReplacesBeforeStopping(t *testing.T) {
	c := newCluster(t)
	a := c.node("a", 4000)
	c.node("b", 4000)
	c.node("c", 4000)
	c.service(webSpec("web:1", 6, "maxSurge: 2"))
	c.reconcile()
	c.agents(nil)
	onA := 0
	for _, r := range c.live("web") {
		if r.GetNode() == a {
			onA++
		}
	}
	if onA == 0 {
		t.Fatal("nothing runs on node a; the test needs some")
	}
	c.setNode(a, orchpb.NodeDraining)
	slow := startsSlowly()
	minRunning, maxLive := 6, 0
	for i := 0; i < 30; i++ {
		c.reconcile()
		n := c.count("web")
		minRunning, maxLive = min(minRunning, n.running), max(maxLive, n.containers)
		c.agents(slow)
		n = c.count("web")
		minRunning, maxLive = min(minRunning, n.running), max(maxLive, n.containers)
	}
	if minRunning < 6 {
		t.Errorf("only %d replicas ran at one point during the drain, want always 6", minRunning)
	}
	if maxLive > 8 {
		t.Errorf("%d replicas at once, want at most replicas + maxSurge = 8", maxLive)
	}
	for _, r := range c.st.Replicas(store.ReplicaFilter{Node: a}) {
		if r.Desired() == orchpb.DesiredRunning {
			t.Errorf("%s still meant to run on the draining node", r.DisplayName())
		}
	}
	if n := c.count("web"); n.live != 6 || n.running != 6 {
		t.Errorf("after the drain: %+v, want 6 running", n)
	}
}

func TestCordonKeepsReplicasButTakesNoNewOnes(t *testing.T) {
	c := newCluster(t)
	a := c.node("a", 4000)
	b := c.node("b", 4000)
	c.service(webSpec("web:1", 2, ""))
	c.reconcile()
	c.agents(nil)
	c.setNode(a, orchpb.NodeCordoned)
	c.apply(&orchpb.Command{Op: &orchpb.Command_ScaleService{ScaleService: &orchpb.ScaleService{Namespace: "default", Name: "web", Replicas: 4}}})
	c.reconcile()
	perNode := map[string]int{}
	for _, r := range c.live("web") {
		perNode[r.GetNode()]++
	}
	if perNode[a] != 1 || perNode[b] != 3 {
		t.Fatalf("placement %v: the cordoned node keeps its 1 replica and takes none of the 2 new ones", perNode)
	}
	c.setNode(a, orchpb.NodeReady) // uncordon
	c.apply(&orchpb.Command{Op: &orchpb.Command_ScaleService{ScaleService: &orchpb.ScaleService{Namespace: "default", Name: "web", Replicas: 6}}})
	c.reconcile()
	perNode = map[string]int{}
	for _, r := range c.live("web") {
		perNode[r.GetNode()]++
	}
	if perNode[a] != 3 || perNode[b] != 3 {
		t.Fatalf("placement %v after uncordon, want 3 and 3", perNode)
	}
}

// heartbeats is the dispatcher's memory, set by hand.
type heartbeats map[string]time.Time

func (h heartbeats) LastHeartbeat(id string) (time.Time, bool) { t, ok := h[id]; return t, ok }

// TestNodeLossReplacesAtOnce: the node controller marks a silent node down
// and its replicas lost in one write, the very next service pass places
// their replacements elsewhere, and when the node returns its old replicas
// are in no assignment set and are forgotten.
func TestNodeLossReplacesAtOnce(t *testing.T) {
	c := newCluster(t)
	a, b, cc := c.node("a", 4000), c.node("b", 4000), c.node("c", 4000)
	c.service(webSpec("web:1", 4, ""))
	c.reconcile()
	c.agents(nil)
	var onA []string
	for _, r := range c.live("web") {
		if r.GetNode() == a {
			onA = append(onA, r.GetId())
		}
	}
	if len(onA) == 0 {
		t.Fatal("nothing on node a")
	}
	clk := newClock()
	start := clk.Now()
	hb := heartbeats{a: start, b: start, cc: start}
	nc := NewNodeController(NodeDeps{Store: c.st, Proposer: proposer{c}, Heartbeats: hb, Timeout: 3 * time.Second, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	clk.advance(2 * time.Second)
	hb[b], hb[cc] = clk.Now(), clk.Now()
	if err := nc.check(ctx, start); err != nil {
		t.Fatal(err)
	}
	if c.st.Node(a).Status() != orchpb.NodeReady {
		t.Fatal("down before the timeout")
	}
	clk.advance(1500 * time.Millisecond)
	hb[b], hb[cc] = clk.Now(), clk.Now()
	index := c.index
	if err := nc.check(ctx, start); err != nil {
		t.Fatal(err)
	}
	if c.index != index+1 {
		t.Errorf("node loss took %d writes, want 1", c.index-index)
	}
	if c.st.Node(a).Status() != orchpb.NodeDown {
		t.Fatal("node a not down after 3.5s of silence")
	}
	for _, id := range onA {
		if r := c.st.Replica(id); r.Observed() != orchpb.ReplicaLost {
			t.Errorf("%s is %s, want lost", r.DisplayName(), r.GetState())
		}
	}
	c.reconcile()
	if n := c.count("web"); n.live != 4 {
		t.Fatalf("%+v after one pass, want 4 replicas again", n)
	}
	for _, r := range c.live("web") {
		if r.GetNode() == a || r.GetNode() == "" {
			t.Errorf("%s on %q, want on b or c", r.DisplayName(), r.GetNode())
		}
	}
	// The agent comes back: the node is ready, and its old replicas are
	// neither in its assignment set nor kept.
	hb[a] = clk.Now()
	if err := nc.check(ctx, start); err != nil {
		t.Fatal(err)
	}
	if c.st.Node(a).Status() != orchpb.NodeReady {
		t.Fatal("node a did not come back")
	}
	// What the dispatcher sends a node: replicas meant to run, not lost.
	for _, r := range c.st.Replicas(store.ReplicaFilter{Node: a}) {
		if r.Desired() == orchpb.DesiredRunning && r.Observed() != orchpb.ReplicaLost {
			t.Errorf("node a is still assigned %s", r.DisplayName())
		}
	}
	c.report(a, onA[0], orchpb.ReplicaRunning) // a late report revives nothing
	c.reconcile()
	for _, id := range onA {
		if r := c.st.Replica(id); r != nil {
			t.Errorf("old replica %s is still recorded (%s/%s)", r.DisplayName(), r.GetDesiredState(), r.GetState())
		}
	}
	if n := c.count("web"); n.live != 4 {
		t.Fatalf("%+v", n)
	}
}

func TestGlobalFollowsNodes(t *testing.T) {
	c := newCluster(t)
	a := c.node("a", 4000)
	c.service("kind: Service\nname: agent\nmode: global\nimage: agent:1\nplacement: {constraints: [\"role != edge\"]}\n")
	c.reconcile()
	if n := c.count("agent"); n.live != 1 {
		t.Fatalf("%+v, want one replica on the one node", n)
	}
	b := c.node("b", 4000)
	c.reconcile()
	if got := nodesOf(c.live("agent")); got != fmt.Sprint([]string{a, b}) {
		t.Fatalf("replicas on %s after b joined", got)
	}
	// b's agent re-registers with a label the constraint excludes.
	c.apply(&orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: &orchpb.Node{
		Id: b, Name: "b", Labels: map[string]string{"role": "edge"}, Capacity: &orchpb.ResourceAmounts{CpuMillis: 4000, MemoryBytes: 1 << 30}}}}})
	c.reconcile()
	if got := nodesOf(c.live("agent")); got != fmt.Sprint([]string{a}) {
		t.Fatalf("replicas on %s after b's label changed, want only a", got)
	}
	c.apply(&orchpb.Command{Op: &orchpb.Command_SetNodeState{SetNodeState: &orchpb.SetNodeState{NodeId: a, State: string(orchpb.NodeDown), Availability: true}}})
	c.reconcile()
	if n := c.count("agent"); n.live != 0 {
		t.Fatalf("%+v with a down and b excluded, want none", n)
	}
	c.apply(&orchpb.Command{Op: &orchpb.Command_SetNodeState{SetNodeState: &orchpb.SetNodeState{NodeId: a, State: string(orchpb.NodeReady), Availability: true}}})
	c.reconcile()
	if got := nodesOf(c.live("agent")); got != fmt.Sprint([]string{a}) {
		t.Fatalf("replicas on %s after a came back", got)
	}
}

func TestGlobalRollingUpdate(t *testing.T) {
	for _, ports := range []string{"", "ports: [{port: 80, hostPort: 80}]\n"} {
		t.Run(fmt.Sprint("hostPort=", ports != ""), func(t *testing.T) {
			c := newCluster(t)
			for i := range 4 {
				c.node(fmt.Sprint("n", i), 4000)
			}
			spec := "kind: Service\nname: agent\nmode: global\nimage: %s\n" + ports
			c.service(fmt.Sprintf(spec, "agent:1"))
			c.reconcile()
			c.agents(nil)
			c.service(fmt.Sprintf(spec, "agent:2"))
			maxLive, minRunning := 0, 4
			for range 20 {
				c.reconcile()
				n := c.count("agent")
				maxLive, minRunning = max(maxLive, n.live), min(minRunning, n.running)
				c.agents(nil)
			}
			n := c.count("agent")
			if n.images["agent:2"] != 4 || n.live != 4 {
				t.Fatalf("%+v, want agent:2 on all 4 nodes", n)
			}
			if ports == "" && (maxLive > 5 || minRunning < 4) {
				t.Errorf("start-first: max %d live, min %d running; want at most 5 and at least 4", maxLive, minRunning)
			}
			if ports != "" && (maxLive > 4 || minRunning < 3) {
				t.Errorf("stop-first: max %d live, min %d running; want at most 4 and at least 3", maxLive, minRunning)
			}
		})
	}
}

func nodesOf(reps []*orchpb.Replica) string {
	var out []string
	for _, r := range reps {
		out = append(out, r.GetNode())
	}
	return fmt.Sprint(out)
}

// TestWholeSilenceMarksNoneDown: when every node of three falls silent at
// once, the leader marks none down (it is likelier cut off itself, and no
// node is left to run their replicas); when one speaks again, the two
// silent others go down as usual: with so few, their failure is as likely.
// Two nodes both silent go down for the same reason.
func TestWholeSilenceMarksNoneDown(t *testing.T) {
	c := newCluster(t)
	a, b, cc := c.node("a", 4000), c.node("b", 4000), c.node("c", 4000)
	clk := newClock()
	start := clk.Now()
	hb := heartbeats{a: start, b: start, cc: start}
	nc := NewNodeController(NodeDeps{Store: c.st, Proposer: proposer{c}, Heartbeats: hb, Timeout: 3 * time.Second, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	clk.advance(10 * time.Second)
	if err := nc.check(ctx, start); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a, b, cc} {
		if st := c.st.Node(id).Status(); st != orchpb.NodeReady {
			t.Errorf("node %s is %s while every node is silent, want ready", id, st)
		}
	}
	hb[a] = clk.Now()
	if err := nc.check(ctx, start); err != nil {
		t.Fatal(err)
	}
	if c.st.Node(a).Status() != orchpb.NodeReady || c.st.Node(b).Status() != orchpb.NodeDown || c.st.Node(cc).Status() != orchpb.NodeDown {
		t.Errorf("one node heard again: a %s, b %s, c %s; want ready, down, down", c.st.Node(a).Status(), c.st.Node(b).Status(), c.st.Node(cc).Status())
	}

	two := newCluster(t)
	x, y := two.node("x", 4000), two.node("y", 4000)
	hb2 := heartbeats{x: start, y: start}
	nc2 := NewNodeController(NodeDeps{Store: two.st, Proposer: proposer{two}, Heartbeats: hb2, Timeout: 3 * time.Second, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	if err := nc2.check(ctx, start); err != nil {
		t.Fatal(err)
	}
	if two.st.Node(x).Status() != orchpb.NodeDown || two.st.Node(y).Status() != orchpb.NodeDown {
		t.Errorf("two silent nodes: %s, %s; want down, down", two.st.Node(x).Status(), two.st.Node(y).Status())
	}
}

// TestMostSilenceMarksNoneDown: six nodes of ten silent at once (past
// 55%) are held up; when one of them speaks again, the five still silent
// go down.
func TestMostSilenceMarksNoneDown(t *testing.T) {
	c, clk, hb, ids := fleetHeardAtStart(t, 10)
	start := clk.Now()
	nc := NewNodeController(NodeDeps{Store: c.st, Proposer: proposer{c}, Heartbeats: hb, Timeout: 3 * time.Second, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	clk.advance(10 * time.Second)
	for _, id := range ids[6:] {
		hb[id] = clk.Now()
	}
	if err := nc.check(ctx, start); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if st := c.st.Node(id).Status(); st != orchpb.NodeReady {
			t.Errorf("node %s is %s while six of ten are silent, want ready", id, st)
		}
	}
	hb[ids[5]] = clk.Now()
	if err := nc.check(ctx, start); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		want := orchpb.NodeReady
		if i < 5 {
			want = orchpb.NodeDown
		}
		if st := c.st.Node(id).Status(); st != want {
			t.Errorf("five of ten silent: node %s is %s, want %s", id, st, want)
		}
	}
}

// fleetHeardAtStart is a cluster of n nodes, each last heard at the
// clock's start.
func fleetHeardAtStart(t *testing.T, n int) (*cluster, *clock, heartbeats, []string) {
	t.Helper()
	c, clk, hb := newCluster(t), newClock(), heartbeats{}
	var ids []string
	for i := range n {
		id := c.node(fmt.Sprintf("n%d", i), 4000)
		ids = append(ids, id)
		hb[id] = clk.Now()
	}
	return c, clk, hb, ids
}

// TestLateIntakeMarksNoneDown: when the leader hears the whole fleet late
// (its intake behind), a node only a little later than the rest is not
// down; the same node goes down once the fleet is heard on time again and
// it is still silent.
func TestLateIntakeMarksNoneDown(t *testing.T) {
	c, clk, hb, ids := fleetHeardAtStart(t, 8)
	start := clk.Now()
	nc := NewNodeController(NodeDeps{Store: c.st, Proposer: proposer{c}, Heartbeats: hb, Timeout: 3 * time.Second, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	quiet := ids[0]
	clk.advance(4 * time.Second)
	for _, id := range ids[1:] {
		hb[id] = clk.Now().Add(-2500 * time.Millisecond) // every node heard 2.5 s late
	}
	if err := nc.check(ctx, start); err != nil {
		t.Fatal(err)
	}
	if st := c.st.Node(quiet).Status(); st != orchpb.NodeReady {
		t.Fatalf("a node silent 4 s while the fleet is heard 2.5 s late is %s, want ready", st)
	}
	clk.advance(3 * time.Second)
	for _, id := range ids[1:] {
		hb[id] = clk.Now()
	}
	if err := nc.check(ctx, start); err != nil {
		t.Fatal(err)
	}
	if st := c.st.Node(quiet).Status(); st != orchpb.NodeDown {
		t.Fatalf("a node silent 7 s while the fleet is heard on time is %s, want down", st)
	}
	if lag := intakeLag([]time.Duration{time.Hour, time.Hour}, 3*time.Second); lag != 0 {
		t.Errorf("intake lag of two nodes: %s, want 0 (too few to tell)", lag)
	}
}

// slowProposer applies as the Raft proposer does, each write taking
// step of the clock, and calls after once the first write is applied.
type slowProposer struct {
	proposer
	clk   *clock
	step  time.Duration
	after func()
}

func (p *slowProposer) Apply(ctx context.Context, cmd *orchpb.Command) (*orchpb.CommandResult, error) {
	p.clk.advance(p.step)
	res, err := p.proposer.Apply(ctx, cmd)
	if p.after != nil {
		p.after()
		p.after = nil
	}
	return res, err
}

// TestNodeSpeakingDuringACheckStaysUp: a check that marks several nodes
// down writes one after another; a node heard while the first writes
// went through is not marked down on the silence read when the check
// began.
func TestNodeSpeakingDuringACheckStaysUp(t *testing.T) {
	c, clk, hb, ids := fleetHeardAtStart(t, 10)
	start := clk.Now()
	p := &slowProposer{proposer: proposer{c}, clk: clk, step: time.Second}
	nc := NewNodeController(NodeDeps{Store: c.st, Proposer: p, Heartbeats: hb, Timeout: 3 * time.Second, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	clk.advance(5 * time.Second)
	for _, id := range ids[:6] {
		hb[id] = clk.Now() // the other four are silent
	}
	late := ids[len(ids)-1]
	p.after = func() { hb[late] = clk.Now() }
	if err := nc.check(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[6 : len(ids)-1] {
		if st := c.st.Node(id).Status(); st != orchpb.NodeDown {
			t.Errorf("silent node %s is %s, want down", id, st)
		}
	}
	if st := c.st.Node(late).Status(); st != orchpb.NodeReady {
		t.Errorf("a node heard while the check wrote is %s, want ready", st)
	}
}

// TestNodeRegisteredLaterHasItsOwnGrace: a node this leader first finds
// registered long after it began to lead (through a follower, whose
// registration beat stays there) is not down before it had a full
// timeout to beat; once silent that long, it is.
func TestNodeRegisteredLaterHasItsOwnGrace(t *testing.T) {
	c, clk, hb, ids := fleetHeardAtStart(t, 5)
	start := clk.Now()
	nc := NewNodeController(NodeDeps{Store: c.st, Proposer: proposer{c}, Heartbeats: hb, Timeout: 3 * time.Second, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	// later lets d pass with the fleet heard, then checks.
	later := func(d time.Duration) {
		clk.advance(d)
		for _, id := range ids {
			hb[id] = clk.Now()
		}
		if err := nc.check(ctx, start); err != nil {
			t.Fatal(err)
		}
	}
	later(0)
	later(time.Minute)
	fresh := c.node("fresh", 4000) // never heard by this leader
	later(0)
	later(2 * time.Second)
	if st := c.st.Node(fresh).Status(); st != orchpb.NodeReady {
		t.Fatalf("a node registered 2 s ago and not heard yet is %s, want ready", st)
	}
	later(2 * time.Second)
	if st := c.st.Node(fresh).Status(); st != orchpb.NodeDown {
		t.Fatalf("a node silent 4 s since it registered is %s, want down", st)
	}
}

// TestFirstNodeOfAnEmptyClusterHasItsOwnGrace: a leader that began with
// no node at all gives the first one to register its own grace too.
func TestFirstNodeOfAnEmptyClusterHasItsOwnGrace(t *testing.T) {
	c, clk, hb := newCluster(t), newClock(), heartbeats{}
	start := clk.Now()
	nc := NewNodeController(NodeDeps{Store: c.st, Proposer: proposer{c}, Heartbeats: hb, Timeout: 3 * time.Second, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	if err := nc.check(ctx, start); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Minute)
	first := c.node("first", 4000)
	for range 2 {
		if err := nc.check(ctx, start); err != nil {
			t.Fatal(err)
		}
		clk.advance(time.Second)
	}
	if st := c.st.Node(first).Status(); st != orchpb.NodeReady {
		t.Fatalf("the first node, registered 2 s ago and not heard yet, is %s, want ready", st)
	}
}

// TestNodeControllerForgetsRemovedNodes: the grace it keeps per node goes
// with the node, or a cluster that replaces its machines would keep every
// one it ever had.
func TestNodeControllerForgetsRemovedNodes(t *testing.T) {
	c, clk, hb := newCluster(t), newClock(), heartbeats{}
	start := clk.Now()
	nc := NewNodeController(NodeDeps{Store: c.st, Proposer: proposer{c}, Heartbeats: hb, Timeout: 3 * time.Second, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	kept, gone := c.node("kept", 4000), c.node("gone", 4000)
	if err := nc.check(ctx, start); err != nil {
		t.Fatal(err)
	}
	if len(nc.seen) != 2 {
		t.Fatalf("seen %v, want both nodes", nc.seen)
	}
	c.apply(&orchpb.Command{Op: &orchpb.Command_RemoveNode{RemoveNode: &orchpb.RemoveNode{NodeId: gone}}})
	if err := nc.check(ctx, start); err != nil {
		t.Fatal(err)
	}
	if _, ok := nc.seen[kept]; !ok || len(nc.seen) != 1 {
		t.Fatalf("seen %v after %s was removed, want only %s", nc.seen, gone, kept)
	}
}
