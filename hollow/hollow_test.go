package hollow_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/orch-io/orch/hollow"
	orchpb "github.com/orch-io/orch/proto"
)

// TestHollowNodesJoinAndRun: hollow nodes register through the real
// channel, get replicas through their assignment streams and report them
// running; a replica taken away is reported stopped and forgotten.
func TestHollowNodesJoinAndRun(t *testing.T) {
	c := startCluster(t, 3*time.Second)
	f := c.fleet(hollow.Config{Count: 3, Prefix: "h", Labels: map[string]string{"zone": "a"}})
	nodes, _, err := c.api.ListNodes(c.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 3 || nodes[0].GetName() != "h-1" || nodes[0].GetLabels()["zone"] != "a" || nodes[0].Status() != orchpb.NodeReady {
		t.Fatalf("nodes %v, want h-1..h-3 ready with zone=a", nodes)
	}
	c.apply("kind: Service\nname: web\nreplicas: 6\nimage: web:1\nresources: {cpu: 100m}\n")
	reps := c.running("web", 6, 20*time.Second)
	held := 0
	for _, n := range f.Nodes() {
		held += len(n.Replicas())
	}
	if held != 6 {
		t.Fatalf("hollow nodes hold %d replicas, want 6 (%s)", held, summary(reps))
	}
	if _, err := c.api.ScaleService(c.ctx, "default", "web", 2); err != nil {
		t.Fatal(err)
	}
	c.running("web", 2, 20*time.Second)
	c.eventually(20*time.Second, "the scaled-down replicas are forgotten", func() error {
		held := 0
		for _, n := range f.Nodes() {
			held += len(n.Replicas())
		}
		all, _, err := c.api.ListReplicas(c.ctx, clientFilter("web"))
		if err != nil {
			return err
		}
		if held != 2 || len(all) != 2 {
			return fmt.Errorf("hollow nodes hold %d, the master records %d; want 2 and 2", held, len(all))
		}
		return nil
	})
}
