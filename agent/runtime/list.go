package runtime

import (
	"context"
	"maps"
	"slices"
	"strings"

	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/errdefs/pkg/errgrpc"
)

// List implements Runtime. It reads containers and tasks with one call each,
// so it stays cheap with many containers.
func (c *Containerd) List(ctx context.Context) ([]ContainerInfo, error) {
	ctx = c.ns(ctx)
	ctrs, err := c.client.ContainerService().List(ctx)
	if err != nil {
		return nil, wrap(err, "list containers in namespace %s", c.namespace)
	}
	resp, err := c.client.TaskService().List(ctx, &tasks.ListTasksRequest{})
	if err != nil {
		return nil, wrap(errgrpc.ToNative(err), "list tasks in namespace %s", c.namespace)
	}
	type taskState struct {
		status string
		pid    uint32
	}
	byID := make(map[string]taskState, len(resp.Tasks))
	for _, t := range resp.Tasks {
		// Status_RUNNING reads "running", as client.ProcessStatus does.
		byID[t.ID] = taskState{status: strings.ToLower(t.Status.String()), pid: t.Pid}
	}

	out := make([]ContainerInfo, 0, len(ctrs))
	for _, ctr := range ctrs {
		labels := maps.Clone(ctr.Labels)
		maps.DeleteFunc(labels, func(k, _ string) bool { return isReservedLabel(k) })
		ts := byID[ctr.ID]
		out = append(out, ContainerInfo{
			ID:         ctr.ID,
			Labels:     labels,
			Image:      ctr.Image,
			TaskStatus: ts.status,
			PID:        ts.pid,
		})
	}
	slices.SortFunc(out, func(a, b ContainerInfo) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
