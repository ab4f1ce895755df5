package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
)

// getOptions are get's own flags and arguments.
type getOptions struct {
	kind          *kind
	name          string
	watch         bool
	allNamespaces bool
	service       string // replicas only
	node          string // replicas only
}

func (a *app) getCommand() *cobra.Command {
	var o getOptions
	cmd := &cobra.Command{
		Use:   "get services|jobs|replicas|nodes|images|secrets|configs|volumes [NAME]",
		Short: "List objects, or show one",
		Example: `  orchctl get services
  orchctl get jobs
  orchctl get replicas --service hello -o wide
  orchctl get replica hello.2 -o yaml
  orchctl get nodes -w`,
		Args:      cobra.RangeArgs(1, 2),
		ValidArgs: []string{"services", "jobs", "replicas", "nodes", "images", "secrets", "configs", "volumes"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if isVolumeKind(args[0]) {
				if len(args) == 2 {
					return errors.New("get volumes takes no name: it lists the namespace's volumes (-A: every namespace's)")
				}
				return a.getVolumes(cmd.Context(), o.allNamespaces)
			}
			if dk, ok := isDataKind(args[0]); ok {
				name := ""
				if len(args) == 2 {
					name = args[1]
				}
				return a.getData(cmd.Context(), dk, name, o.allNamespaces)
			}
			k, err := lookupKind(args[0])
			if err != nil {
				return err
			}
			o.kind = k
			if len(args) == 2 {
				o.name = args[1]
			}
			if (o.service != "" || o.node != "") && k != replicaKind {
				return errors.New("--service and --node filter replicas only")
			}
			return a.runGet(cmd.Context(), &o)
		},
	}
	cmd.Flags().BoolVarP(&o.watch, "watch", "w", false, "after listing, keep printing changes")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "services, jobs and replicas of every namespace")
	cmd.Flags().StringVar(&o.service, "service", "", "only replicas of this service")
	cmd.Flags().StringVar(&o.node, "node", "", "only replicas on this node (id or name)")
	return cmd
}

func (a *app) runGet(ctx context.Context, o *getOptions) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	objs, index, err := a.fetch(ctx, c, o)
	if err != nil {
		return err
	}
	v := a.view(ctx, c, o)
	if o.watch {
		return a.watch(ctx, c, o, v, objs, index)
	}
	if a.structured() {
		return a.printObjects(objs, o.name != "")
	}
	if len(objs) == 0 {
		fmt.Fprintf(a.stderr, "no %s found%s\n", o.kind.plural, a.where(o))
		return nil
	}
	rows := make([][]string, len(objs))
	for i, m := range objs {
		rows[i] = o.kind.row(m, v)
	}
	return writeTable(a.stdout, o.kind.header(v), rows)
}

func (a *app) where(o *getOptions) string {
	if o.allNamespaces || o.kind == nodeKind || o.kind == imageKind {
		return ""
	}
	return " in namespace " + a.namespace
}

// namespaceFilter is the namespace to ask for: "" means all.
func (a *app) namespaceFilter(o *getOptions) string {
	if o.allNamespaces {
		return ""
	}
	return a.namespace
}

// fetch gets the objects of one kind (or the one named), sorted, with the
// index to watch from. A single object answers with index 0; the watch then
// starts from its version.
func (a *app) fetch(ctx context.Context, c *client.Client, o *getOptions) ([]proto.Message, uint64, error) {
	var objs []proto.Message
	var index uint64
	switch o.kind {
	case serviceKind:
		if o.name != "" {
			s, err := c.GetService(ctx, a.namespace, o.name)
			if err != nil {
				return nil, 0, err
			}
			return []proto.Message{s}, s.GetVersion(), nil
		}
		list, idx, err := c.ListServices(ctx, a.namespaceFilter(o))
		if err != nil {
			return nil, 0, err
		}
		objs, index = toMessages(list), idx
	case jobKind:
		if o.name != "" {
			j, err := c.GetJob(ctx, a.namespace, o.name)
			if err != nil {
				return nil, 0, err
			}
			return []proto.Message{j}, j.GetVersion(), nil
		}
		list, idx, err := c.ListJobs(ctx, a.namespaceFilter(o))
		if err != nil {
			return nil, 0, err
		}
		objs, index = toMessages(list), idx
	case replicaKind:
		if o.name != "" && !o.watch {
			r, err := c.GetReplica(ctx, o.name, a.namespace)
			if err != nil {
				return nil, 0, err
			}
			return []proto.Message{r}, r.GetVersion(), nil
		}
		f := client.ReplicaFilter{Namespace: a.namespaceFilter(o), Service: o.service, Node: o.node}
		list, idx, err := c.ListReplicas(ctx, f)
		if err != nil {
			return nil, 0, err
		}
		objs, index = toMessages(list), idx
	case nodeKind:
		if o.name != "" && !o.watch {
			n, err := c.GetNode(ctx, o.name)
			if err != nil {
				return nil, 0, err
			}
			return []proto.Message{n}, n.GetVersion(), nil
		}
		list, idx, err := c.ListNodes(ctx)
		if err != nil {
			return nil, 0, err
		}
		objs, index = toMessages(list), idx
	case imageKind:
		list, idx, err := c.ListImages(ctx)
		if err != nil {
			return nil, 0, err
		}
		objs, index = toMessages(list), idx
	}
	if o.name != "" {
		// Watching one replica, node or image: list and keep the match, so
		// the watch starts from the list's index.
		objs = slices.DeleteFunc(objs, func(m proto.Message) bool { return !o.matches(m) })
		if len(objs) == 0 && !o.watch {
			return nil, 0, &api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf("%s %q not found", o.kind.name, o.name)}
		}
	}
	slices.SortFunc(objs, o.kind.compare)
	return objs, index, nil
}

// matches applies the name and filters to one object, for lists the server
// cannot narrow and for watch events.
func (o *getOptions) matches(m proto.Message) bool {
	switch x := m.(type) {
	case *orchpb.Service:
		// Jobs are services of kind Job in the watch: each kind keeps its own.
		return (o.name == "" || x.GetSpec().GetName() == o.name) && x.GetSpec().IsJob() == (o.kind == jobKind)
	case *orchpb.Replica:
		return (o.name == "" || x.GetId() == o.name || x.DisplayName() == o.name) &&
			(o.service == "" || x.GetService() == o.service)
	case *orchpb.Node:
		return o.name == "" || x.GetId() == o.name || x.GetName() == o.name
	case *orchpb.Image:
		return o.name == "" || x.GetName() == o.name
	}
	return false
}

// view prepares the context of table rows: replica rows show node names,
// which takes one more request (its failure only costs the names).
func (a *app) view(ctx context.Context, c *client.Client, o *getOptions) view {
	v := view{wide: a.output == outWide, allNamespaces: o.allNamespaces, now: time.Now()}
	if o.kind == replicaKind && (!a.structured() || o.node != "") {
		v.nodeNames = nodeNames(ctx, c)
	}
	return v
}

// nodeNames maps node ids to names, for rows that show replicas; nil when
// the nodes cannot be listed, which only costs the names.
func nodeNames(ctx context.Context, c *client.Client) map[string]string {
	nodes, _, err := c.ListNodes(ctx)
	if err != nil {
		return nil
	}
	names := make(map[string]string, len(nodes))
	for _, n := range nodes {
		names[n.GetId()] = n.GetName()
	}
	return names
}

func toMessages[T proto.Message](items []T) []proto.Message {
	out := make([]proto.Message, len(items))
	for i, it := range items {
		out[i] = it
	}
	return out
}
