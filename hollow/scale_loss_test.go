package hollow_test

import (
	"fmt"
	"time"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/hollow"
	orchpb "github.com/orch-io/orch/proto"
)

// nodeLoss kills one hollow node (silent at once, as kill -9 leaves an
// agent) and times until a follower's store counts one more node down, and until
// every service it ran has all its replicas running on other nodes. It
// returns the dead node's id.
func (c *scaleCluster) nodeLoss(r *scaleReport, f *hollow.Fleet) (string, error) {
	leader, err := c.leader()
	if err != nil {
		return "", err
	}
	api := c.api[leader.id]
	victim := f.Nodes()[0]
	reps, _, err := api.ListReplicas(c.ctx, client.ReplicaFilter{Node: victim.ID()})
	if err != nil {
		return "", fmt.Errorf("scale: replicas of %s: %w", victim.Name(), err)
	}
	services := map[string]bool{}
	for _, rep := range reps {
		if rep.Desired() == orchpb.DesiredRunning {
			services[rep.GetService()] = true
		}
	}
	down := map[string]string{"state": "down"}
	watcher := c.follower(leader)
	down0, err := c.metric(watcher, "orch_nodes", down)
	if err != nil {
		return "", err
	}
	killed := time.Now()
	victim.Kill()
	err = poll(c.ctx, 2*time.Minute, 100*time.Millisecond, func() error {
		n, err := c.metric(watcher, "orch_nodes", down)
		if err == nil && n <= down0 {
			err = fmt.Errorf("%v nodes down", n)
		}
		return err
	})
	r.lossDetected = time.Since(killed)
	if err != nil {
		return victim.ID(), err
	}
	err = poll(c.ctx, 5*time.Minute, 250*time.Millisecond, func() error { return c.runningElsewhere(api, services, victim.ID(), r.sizes.replicas) })
	r.lossReplaced = time.Since(killed)
	return victim.ID(), err
}

// runningElsewhere: every one of services has want replicas running on
// nodes other than dead.
func (c *scaleCluster) runningElsewhere(api *client.Client, services map[string]bool, dead string, want int) error {
	for svc := range services {
		reps, _, err := api.ListReplicas(c.ctx, client.ReplicaFilter{Namespace: "default", Service: svc})
		if err != nil {
			return err
		}
		running := 0
		for _, rep := range reps {
			if rep.Desired() == orchpb.DesiredRunning && rep.Observed() == orchpb.ReplicaRunning && rep.GetNode() != dead {
				running++
			}
		}
		if running != want {
			return fmt.Errorf("%s: %d of %d running elsewhere", svc, running, want)
		}
	}
	return nil
}
