package controllers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/master/manifest"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// cluster is a store driven through the same commands Raft would apply.
type cluster struct {
	t     *testing.T
	st    *store.Store
	index uint64
	ids   int
	// ready overrides Env.Ready (nil: running counts at once); observe,
	// when set, runs before every pass.
	ready   func(rep *orchpb.Replica, d time.Duration) bool
	observe func()
}

func newCluster(t *testing.T) *cluster { return &cluster{t: t, st: store.New()} }

func (c *cluster) env() Env { return Env{NewID: c.newID, Ready: c.ready} }

func (c *cluster) apply(cmd *orchpb.Command) *orchpb.CommandResult {
	c.t.Helper()
	c.index++
	res := c.st.Apply(c.index, cmd)
	if res.GetErrorCode() != "" {
		c.t.Fatalf("apply %v: %s", cmd, res.GetError())
	}
	return res
}

func (c *cluster) node(name string, cpuMillis int64) string {
	c.t.Helper()
	n := &orchpb.Node{Id: "id-" + name, Name: name, State: string(orchpb.NodeReady), Address: "10.0.0.1",
		Capacity: &orchpb.ResourceAmounts{CpuMillis: cpuMillis, MemoryBytes: 1 << 30}}
	c.apply(&orchpb.Command{Op: &orchpb.Command_RegisterNode{RegisterNode: &orchpb.RegisterNode{Node: n}}})
	return n.Id
}

func (c *cluster) service(yaml string) *orchpb.ServiceSpec {
	c.t.Helper()
	spec, err := manifest.ParseOne([]byte(yaml))
	if err != nil {
		c.t.Fatal(err)
	}
	c.apply(&orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{Spec: spec}}})
	return spec
}

func (c *cluster) newID() string {
	c.ids++
	return fmt.Sprintf("r%d", c.ids)
}

// reconcile runs one pass and applies what it decided, as the controller does.
func (c *cluster) reconcile() *Changes {
	c.t.Helper()
	if c.observe != nil {
		c.observe()
	}
	ch := Reconcile(c.st, c.env())
	c.write(ch)
	return ch
}

// write applies a pass's changes as the controller does.
func (c *cluster) write(ch *Changes) {
	c.t.Helper()
	if len(ch.Put) > 0 {
		res := c.apply(&orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: ch.Put, ExpectedVersions: ch.Expected}}})
		if len(res.GetRejected()) > 0 {
			c.t.Fatalf("rejected: %v", res.GetRejected())
		}
	}
	if len(ch.Delete) > 0 {
		c.apply(&orchpb.Command{Op: &orchpb.Command_DeleteReplicas{DeleteReplicas: &orchpb.DeleteReplicas{Ids: ch.Delete}}})
	}
}

func (c *cluster) report(nodeID, id string, state orchpb.ReplicaState) {
	c.t.Helper()
	c.apply(&orchpb.Command{Op: &orchpb.Command_ReportReplicaStatus{ReportReplicaStatus: &orchpb.ReportReplicaStatus{
		NodeId: nodeID, Statuses: []*orchpb.ReplicaStatus{{Id: id, State: string(state)}}}}})
}

func (c *cluster) live(service string) []*orchpb.Replica {
	var out []*orchpb.Replica
	for _, r := range c.st.Replicas(store.ReplicaFilter{Namespace: "default", Service: service}) {
		if r.Desired() == orchpb.DesiredRunning {
			out = append(out, r)
		}
	}
	return out
}

const web = "kind: Service\nname: web\nreplicas: 3\nimage: web:1\nresources: {cpu: 500m}\n"

func TestNewServiceIsCreatedAndPlacedInOneWrite(t *testing.T) {
	c := newCluster(t)
	a, b := c.node("a", 2000), c.node("b", 2000)
	c.service(web)
	ch := c.reconcile()
	if len(ch.Put) != 3 {
		t.Fatalf("wrote %d replicas, want 3 in one command", len(ch.Put))
	}
	perNode := map[string]int{}
	for _, r := range c.live("web") {
		if r.Observed() != orchpb.ReplicaAssigned {
			t.Errorf("%s is %s, want assigned", r.DisplayName(), r.GetState())
		}
		perNode[r.GetNode()]++
	}
	if perNode[a]+perNode[b] != 3 || perNode[a] == 0 || perNode[b] == 0 {
		t.Errorf("placement %v, want spread over both nodes", perNode)
	}
	if again := Reconcile(c.st, c.env()); !again.Empty() {
		t.Errorf("a second pass changed %d replicas; reconcile must be idempotent", len(again.Put))
	}
}

func TestUnplaceableReplicaCarriesTheReason(t *testing.T) {
	c := newCluster(t)
	c.node("small", 100)
	c.service("kind: Service\nname: big\nreplicas: 1\nimage: big:1\nresources: {cpu: 2}\n")
	c.reconcile()
	reps := c.live("big")
	if len(reps) != 1 || reps[0].GetNode() != "" || reps[0].Observed() != orchpb.ReplicaPending {
		t.Fatalf("replicas %v, want one pending", reps)
	}
	if want := "0/1 nodes can run it: 1 lacks cpu (need 2)"; reps[0].GetMessage() != want {
		t.Errorf("message %q, want %q", reps[0].GetMessage(), want)
	}
	if again := Reconcile(c.st, c.env()); !again.Empty() {
		t.Errorf("the unchanged reason was written again")
	}
	c.node("large", 4000)
	c.reconcile()
	if reps := c.live("big"); reps[0].GetNode() != "id-large" {
		t.Errorf("after a node joined the replica is on %q, want id-large", reps[0].GetNode())
	}
}

func TestScaleDownStopsHighSlotsThenForgetsThem(t *testing.T) {
	c := newCluster(t)
	a := c.node("a", 4000)
	c.service(web)
	c.reconcile()
	c.apply(&orchpb.Command{Op: &orchpb.Command_ScaleService{ScaleService: &orchpb.ScaleService{Namespace: "default", Name: "web", Replicas: 1}}})
	c.reconcile()
	live := c.live("web")
	if len(live) != 1 || live[0].GetSlot() != 1 {
		t.Fatalf("live replicas %v, want only slot 1", live)
	}
	all := c.st.Replicas(store.ReplicaFilter{Service: "web"})
	if len(all) != 3 {
		t.Fatalf("%d replicas recorded, want the 2 stopped ones kept until their agent confirms", len(all))
	}
	for _, r := range all {
		if r.GetSlot() > 1 {
			c.report(a, r.GetId(), orchpb.ReplicaStopped)
		}
	}
	c.reconcile()
	if all := c.st.Replicas(store.ReplicaFilter{Service: "web"}); len(all) != 1 {
		t.Errorf("%d replicas recorded after the agent stopped them, want 1", len(all))
	}
}

func TestFailedAndLostReplicasAreReplacedInTheirSlot(t *testing.T) {
	for _, state := range []orchpb.ReplicaState{orchpb.ReplicaFailed, orchpb.ReplicaLost} {
		t.Run(string(state), func(t *testing.T) {
			c := newCluster(t)
			a := c.node("a", 4000)
			c.service(web)
			c.reconcile()
			victim := c.live("web")[0]
			if state == orchpb.ReplicaLost {
				lost := proto.Clone(victim).(*orchpb.Replica)
				lost.SetObserved(state)
				c.apply(&orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: []*orchpb.Replica{lost}}}})
			} else {
				c.report(a, victim.GetId(), state)
			}
			c.reconcile()
			live := c.live("web")
			if len(live) != 3 {
				t.Fatalf("%d live replicas, want 3", len(live))
			}
			for _, r := range live {
				if r.GetId() == victim.GetId() {
					t.Fatalf("the %s replica is still live", state)
				}
				if r.GetSlot() == victim.GetSlot() && r.GetNode() == "" {
					t.Errorf("the replacement for slot %d is not placed", r.GetSlot())
				}
			}
		})
	}
}

func TestSpecChangeReplacesOneSlotAtATime(t *testing.T) {
	c := newCluster(t)
	a := c.node("a", 4000)
	c.service(web)
	c.reconcile()
	for _, r := range c.live("web") {
		c.report(a, r.GetId(), orchpb.ReplicaRunning)
	}
	c.service(strings.Replace(web, "web:1", "web:2", 1))
	c.reconcile()
	if got := countImage(c.live("web"), "web:2"); got != 1 {
		t.Fatalf("%d replicas of web:2 after the first step, want 1 (maxSurge 1)", got)
	}
	for i := 0; i < 3; i++ {
		c.agents(nil) // the new one runs
		c.reconcile() // its old one is told to stop
		if got := countImage(c.live("web"), "web:2"); got != i+1 {
			t.Fatalf("step %d: %d replicas of web:2 while the old one still runs, want %d: a stopping replica takes surge room", i, got, i+1)
		}
		c.agents(nil) // the old one stops
		c.reconcile() // the next new one starts
	}
	live := c.live("web")
	if len(live) != 3 || countImage(live, "web:2") != 3 {
		t.Fatalf("after the update: %d live, %d on web:2; want 3 and 3", len(live), countImage(live, "web:2"))
	}
}

func countImage(reps []*orchpb.Replica, image string) int {
	n := 0
	for _, r := range reps {
		if r.GetSpec().GetImage() == image {
			n++
		}
	}
	return n
}

func TestRestartNeverLeavesAFailedReplicaFailed(t *testing.T) {
	c := newCluster(t)
	a := c.node("a", 4000)
	c.service("kind: Service\nname: job\nreplicas: 1\nimage: job:1\nrestart: {policy: never}\n")
	c.reconcile()
	rep := c.live("job")[0]
	c.apply(&orchpb.Command{Op: &orchpb.Command_ReportReplicaStatus{ReportReplicaStatus: &orchpb.ReportReplicaStatus{
		NodeId: a, Statuses: []*orchpb.ReplicaStatus{{Id: rep.GetId(), State: string(orchpb.ReplicaFailed), ExitCode: 2, StartedAt: 1000, Message: "exited 2"}}}}})
	c.reconcile()
	live := c.live("job")
	if len(live) != 1 || live[0].GetId() != rep.GetId() || live[0].Observed() != orchpb.ReplicaFailed || live[0].GetExitCode() != 2 {
		t.Fatalf("live replicas %v, want the failed one kept with exit code 2", summaryOf(live))
	}
}

func summaryOf(reps []*orchpb.Replica) []string {
	var out []string
	for _, r := range reps {
		out = append(out, fmt.Sprintf("%s %s %s exit=%d", r.GetId(), r.DisplayName(), r.GetState(), r.GetExitCode()))
	}
	return out
}
