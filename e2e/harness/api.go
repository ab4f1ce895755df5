package harness

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
)

func (c *Cluster) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// LoadImage puts an OCI tarball into the cluster.
func (c *Cluster) LoadImage(path string) {
	c.t.Helper()
	f, err := os.Open(path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.API.LoadImage(ctx, f); err != nil {
		c.t.Fatalf("load image %s: %v", path, err)
	}
}

// Apply creates or updates a service from a YAML manifest.
func (c *Cluster) Apply(yaml string) *orchpb.Service {
	c.t.Helper()
	spec, err := manifest.ParseOne([]byte(yaml))
	if err != nil {
		c.t.Fatalf("manifest: %v", err)
	}
	ctx, cancel := c.ctx()
	defer cancel()
	svc, err := c.API.ApplyService(ctx, spec, nil)
	if err != nil {
		c.t.Fatalf("apply %s: %v", spec.GetName(), err)
	}
	return svc
}

// Replicas lists the replicas of a service in namespace default.
func (c *Cluster) Replicas(service string) ([]*orchpb.Replica, error) {
	ctx, cancel := c.ctx()
	defer cancel()
	reps, _, err := c.API.ListReplicas(ctx, client.ReplicaFilter{Namespace: "default", Service: service})
	return reps, err
}

// Running waits until the service has exactly n replicas meant to run, all
// running with an address, and returns them sorted by slot.
func (c *Cluster) Running(service string, n int, timeout time.Duration) []*orchpb.Replica {
	c.t.Helper()
	var out []*orchpb.Replica
	c.Eventually(fmt.Sprintf("%d replicas of %s run", n, service), timeout, func() error {
		reps, err := c.Replicas(service)
		if err != nil {
			return err
		}
		var live []*orchpb.Replica
		for _, r := range reps {
			if r.Desired() == orchpb.DesiredRunning && !r.Terminal() {
				live = append(live, r)
			}
		}
		ok := 0
		for _, r := range live {
			if r.Observed() == orchpb.ReplicaRunning && r.GetIp() != "" {
				ok++
			}
		}
		if ok != n || len(live) != n {
			return fmt.Errorf("%d live, %d running: %s", len(live), ok, Summary(reps))
		}
		slices.SortFunc(live, func(a, b *orchpb.Replica) int { return int(a.GetSlot() - b.GetSlot()) })
		out = live
		return nil
	})
	return out
}

// Summary is a one-line description of replicas for failure messages.
func Summary(reps []*orchpb.Replica) string {
	var parts []string
	for _, r := range reps {
		parts = append(parts, fmt.Sprintf("%s@%s:%s/%s:%s", r.DisplayName(), r.GetNode(), r.GetDesiredState(), r.GetState(), r.GetIp()))
	}
	return strings.Join(parts, " ")
}

// Nodes lists the nodes.
func (c *Cluster) Nodes() ([]*orchpb.Node, error) {
	ctx, cancel := c.ctx()
	defer cancel()
	nodes, _, err := c.API.ListNodes(ctx)
	return nodes, err
}

// NodeID returns the id of the node named like host h.
func (c *Cluster) NodeID(h *Host) string {
	c.t.Helper()
	nodes, err := c.Nodes()
	if err != nil {
		c.t.Fatal(err)
	}
	for _, n := range nodes {
		if n.GetName() == h.Name {
			return n.GetId()
		}
	}
	c.t.Fatalf("no node named %s", h.Name)
	return ""
}

// HostOf returns the host running replica r.
func (c *Cluster) HostOf(r *orchpb.Replica) *Host {
	c.t.Helper()
	nodes, err := c.Nodes()
	if err != nil {
		c.t.Fatal(err)
	}
	for _, n := range nodes {
		if n.GetId() == r.GetNode() {
			for _, h := range c.Hosts {
				if h.Name == n.GetName() {
					return h
				}
			}
		}
	}
	c.t.Fatalf("replica %s: node %s is no host of this cluster", r.DisplayName(), r.GetNode())
	return nil
}

// NodeState waits until the node of host h is in state.
func (c *Cluster) NodeState(h *Host, state orchpb.NodeState, timeout time.Duration) {
	c.t.Helper()
	c.Eventually(h.Name+" is "+string(state), timeout, func() error {
		nodes, err := c.Nodes()
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if n.GetName() == h.Name {
				if n.Status() != state {
					return fmt.Errorf("%s is %s", h.Name, n.GetState())
				}
				return nil
			}
		}
		return fmt.Errorf("no node %s", h.Name)
	})
}

func (c *Cluster) nodesReady(n int) error {
	nodes, err := c.Nodes()
	if err != nil {
		return err
	}
	ready := 0
	for _, node := range nodes {
		if node.Status() == orchpb.NodeReady && node.GetSubnet() != "" {
			ready++
		}
	}
	if ready != n {
		return fmt.Errorf("%d of %d nodes ready", ready, n)
	}
	return nil
}
