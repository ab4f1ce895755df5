package controllers

import (
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

const stateful = "kind: Service\nname: db\nreplicas: 2\nimage: db:1\nresources: {cpu: 100m}\n" +
	"volumes: [{name: data, mountPath: /data}, {name: tmp, mountPath: /tmp, type: scratch}]\n"

func (c *cluster) availability(id string, state orchpb.NodeState) {
	c.t.Helper()
	c.apply(&orchpb.Command{Op: &orchpb.Command_SetNodeState{SetNodeState: &orchpb.SetNodeState{NodeId: id, State: string(state), Availability: true}}})
}

// slotNode is the node of the slot's live replica ("" when unplaced) and
// its message.
func (c *cluster) slotNode(service string, slot int32) (node, message string) {
	for _, r := range c.live(service) {
		if r.GetSlot() == slot && !r.Terminal() {
			return r.GetNode(), r.GetMessage()
		}
	}
	return "", "no live replica"
}

func (c *cluster) volumeNodes() map[string]string {
	out := map[string]string{}
	for _, v := range c.st.Volumes("") {
		out[v.DisplayName()] = v.GetNode()
	}
	return out
}

// TestVolumesPinSlots: a slot's volume is bound where it first runs; the
// slot waits for that node while it is down (with the message users read,
// in plan too), comes back there, stays there through a drain and a
// scale-down and up, and starts on another node only after a forget.
func TestVolumesPinSlots(t *testing.T) {
	c := newCluster(t)
	a, b := c.node("a", 4000), c.node("b", 4000)
	c.service(stateful)
	c.settle()
	bound := c.volumeNodes()
	if len(bound) != 2 || bound["db.1/data"] == "" || bound["db.2/data"] == "" {
		t.Fatalf("bindings %v, want db.1/data and db.2/data only", bound)
	}
	home1 := bound["db.1/data"]
	other := map[string]string{a: b, b: a}[home1]

	c.availability(home1, orchpb.NodeDown)
	c.settle()
	name := c.st.Node(home1).GetName()
	want := "waiting for node " + name + ", which holds volume data"
	if node, msg := c.slotNode("db", 1); node != "" || msg != want {
		t.Fatalf("slot 1 with its node down: node %q, message %q; want pending with %q", node, msg, want)
	}
	c.availability(home1, orchpb.NodeReady)
	c.settle()
	if node, _ := c.slotNode("db", 1); node != home1 {
		t.Fatalf("slot 1 back on %q, want its volume's node %q", node, home1)
	}

	// A drain moves nothing pinned: the replica stays, nothing waits.
	c.setNode(home1, orchpb.NodeDraining)
	c.settle()
	if node, _ := c.slotNode("db", 1); node != home1 || c.count("db").live != 2 {
		t.Fatalf("after the drain slot 1 is on %q (want %q), %d live", node, home1, c.count("db").live)
	}
	c.setNode(home1, orchpb.NodeReady)

	c.apply(&orchpb.Command{Op: &orchpb.Command_ScaleService{ScaleService: &orchpb.ScaleService{Namespace: "default", Name: "db", Replicas: 1}}})
	c.settle()
	// Scaling up again reuses slot 2's volume: plan says it waits for
	// the volume's node while that is down.
	home2 := bound["db.2/data"]
	c.availability(home2, orchpb.NodeDown)
	want2 := "db.2!waiting for node " + c.st.Node(home2).GetName() + ", which holds volume data"
	if p := c.plan(stateful); len(p) != 1 || !strings.Contains(placementsText(p[0]), want2) {
		t.Fatalf("plan: %+v, want %s", p, want2)
	}
	c.availability(home2, orchpb.NodeReady)
	c.apply(&orchpb.Command{Op: &orchpb.Command_ScaleService{ScaleService: &orchpb.ScaleService{Namespace: "default", Name: "db", Replicas: 2}}})
	c.settle()
	if node, _ := c.slotNode("db", 2); node != bound["db.2/data"] {
		t.Fatalf("slot 2 scaled back up on %q, want its volume's node %q", node, bound["db.2/data"])
	}

	c.availability(home1, orchpb.NodeDown)
	c.settle()
	c.apply(&orchpb.Command{Op: &orchpb.Command_DeleteVolumes{DeleteVolumes: &orchpb.DeleteVolumes{
		Namespace: "default", Service: "db", Slot: 1, Name: "data", IfNode: home1}}})
	c.settle()
	if node, msg := c.slotNode("db", 1); node != other {
		t.Fatalf("slot 1 after forget: node %q (%s), want %q", node, msg, other)
	}
	if got := c.volumeNodes()["db.1/data"]; got != other {
		t.Fatalf("db.1/data bound to %q after forget, want %q", got, other)
	}
}
