package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
)

// volumeCommand: `orchctl volume forget SERVICE.SLOT/NAME`.
func (a *app) volumeCommand() *cobra.Command {
	parent := &cobra.Command{Use: "volume", Short: "Persistent volumes: a slot's data, kept on the node where the slot first ran"}
	var node string
	forget := &cobra.Command{
		Use:   "forget SERVICE.SLOT/NAME",
		Short: "Release a slot's volume: the slot starts empty on another node, the old node deletes the data",
		Long: `Release a slot's volume when its node is lost for good: the slot is no
longer held to that node and starts with an empty volume wherever it fits.
If the node comes back, its agent deletes the old data. Refused while the
slot runs on the volume's node (scale down or delete the service first).`,
		Example: "  orchctl volume forget db.2/data\n  orchctl volume forget db.2/data --node worker-3",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			service, slot, name, err := parseVolumeName(args[0])
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.ForgetVolume(cmd.Context(), a.namespace, service, slot, name, node); err != nil {
				return fmt.Errorf("volume/%s: %w", args[0], err)
			}
			fmt.Fprintf(a.stdout, "volume/%s forgotten\n", args[0])
			return nil
		},
	}
	forget.Flags().StringVar(&node, "node", "", "forget only while the volume is still on this node")
	parent.AddCommand(forget)
	return parent
}

// parseVolumeName splits SERVICE.SLOT/NAME.
func parseVolumeName(s string) (service string, slot int32, name string, err error) {
	bad := fmt.Errorf("%q: want SERVICE.SLOT/NAME, like db.2/data", s)
	replica, name, ok := strings.Cut(s, "/")
	dot := strings.LastIndexByte(replica, '.')
	if !ok || name == "" || dot <= 0 {
		return "", 0, "", bad
	}
	n, perr := strconv.ParseInt(replica[dot+1:], 10, 32)
	if perr != nil || n < 1 {
		return "", 0, "", bad
	}
	return replica[:dot], int32(n), name, nil
}

func isVolumeKind(s string) bool {
	switch strings.ToLower(s) {
	case "volume", "volumes", "vol":
		return true
	}
	return false
}

// getVolumes prints the volumes of the namespace (all with -A).
func (a *app) getVolumes(ctx context.Context, allNamespaces bool) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	list, err := c.ListVolumes(ctx, a.namespaceFilter(&getOptions{allNamespaces: allNamespaces}))
	if err != nil {
		return err
	}
	if a.structured() {
		var buf bytes.Buffer
		buf.WriteByte('[')
		for i, v := range list {
			b, err := api.Marshal(v)
			if err != nil {
				return err
			}
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(b)
		}
		buf.WriteByte(']')
		return a.printJSON(buf.Bytes())
	}
	nodes := a.nodeNames(ctx)
	header := []string{"NAME", "SERVICE", "SLOT", "NODE", "SIZE", "STATE"}
	if allNamespaces {
		header = append([]string{"NAMESPACE"}, header...)
	}
	var rows [][]string
	for _, v := range list {
		node := v.GetNode()
		if n := nodes[node]; n != "" {
			node = n
		}
		row := []string{v.DisplayName(), v.GetService(), strconv.Itoa(int(v.GetSlot())), node, formatBytes(v.GetSizeBytes()), dash(v.GetState())}
		if allNamespaces {
			row = append([]string{v.GetNamespace()}, row...)
		}
		rows = append(rows, row)
	}
	return writeTable(a.stdout, header, rows)
}

// nodeNames maps node ids to names, empty when the nodes cannot be read
// (the ids are shown then).
func (a *app) nodeNames(ctx context.Context) map[string]string {
	out := map[string]string{}
	c, err := a.client()
	if err != nil {
		return out
	}
	nodes, _, err := c.ListNodes(ctx)
	if err != nil {
		return out
	}
	for _, n := range nodes {
		out[n.GetId()] = n.GetName()
	}
	return out
}

// pinnedSlots are the replicas in left held to node by their slot's
// volume: a drain cannot move them.
func pinnedSlots(volumes []*orchpb.Volume, node string, left []*orchpb.Replica) (pinned []string, movable []*orchpb.Replica) {
	held := map[string]string{}
	for _, v := range volumes {
		if v.GetNode() == node {
			held[v.GetNamespace()+"/"+v.GetService()+"."+strconv.Itoa(int(v.GetSlot()))] = v.GetName()
		}
	}
	for _, r := range left {
		if name, ok := held[r.GetNamespace()+"/"+r.DisplayName()]; ok {
			pinned = append(pinned, fmt.Sprintf("%s/%s (volume %s)", r.GetNamespace(), r.DisplayName(), name))
			continue
		}
		movable = append(movable, r)
	}
	return pinned, movable
}
