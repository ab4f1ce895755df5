package harness

import (
	"context"
	"fmt"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
)

// Containers lists the ids of the containers in h's agent's containerd
// namespace, as containerd itself sees them (not as the agent reports).
func (c *Cluster) Containers(h *Host) ([]string, error) {
	cl, err := containerd.New(c.containerd.Socket())
	if err != nil {
		return nil, fmt.Errorf("harness: containerd client: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), c.nsName(h.Name)), 10*time.Second)
	defer cancel()
	list, err := cl.Containers(ctx)
	if err != nil {
		return nil, fmt.Errorf("harness: list containers of %s: %w", h.Name, err)
	}
	ids := make([]string, 0, len(list))
	for _, ctr := range list {
		ids = append(ids, ctr.ID())
	}
	return ids, nil
}
