package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/internal/backoff"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// Event names of `get -w`, as kubectl's --output-watch-events spells them.
const (
	watchAdded    = "added"
	watchModified = "modified"
	watchDeleted  = "deleted"
)

// watchPrinter prints the changes `get -w` sees: table rows with a leading
// EVENT column, or one {"type", "object"} document per change.
type watchPrinter struct {
	a     *app
	kind  *kind
	view  view
	table *streamTable
	known map[string]proto.Message // what was printed last, by key
}

func (p *watchPrinter) emit(typ string, m proto.Message) error {
	if typ == watchDeleted {
		delete(p.known, p.kind.key(m))
	} else {
		p.known[p.kind.key(m)] = m
	}
	if p.a.structured() {
		obj, err := api.MarshalObject(m)
		if err != nil {
			return err
		}
		doc, err := json.Marshal(struct {
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}{typ, obj})
		if err != nil {
			return err
		}
		if p.a.output == outYAML {
			fmt.Fprintln(p.a.stdout, "---")
		}
		return p.a.printJSON(doc)
	}
	p.table.print(append([]string{typ}, p.kind.row(m, p.view)...))
	return nil
}

// watch prints the listed objects, then every change after index until ctx
// ends. When the server drops the stream or the index is compacted it lists
// again and prints the difference, so nothing is silently missed.
func (a *app) watch(ctx context.Context, c *client.Client, o *getOptions, v view, objs []proto.Message, index uint64) error {
	p := &watchPrinter{a: a, kind: o.kind, view: v, known: map[string]proto.Message{}}
	if !a.structured() {
		rows := make([][]string, len(objs))
		for i, m := range objs {
			rows[i] = append([]string{watchAdded}, o.kind.row(m, v)...)
			p.known[o.kind.key(m)] = m
		}
		p.table = newStreamTable(a.stdout, append([]string{"EVENT"}, o.kind.header(v)...), []string{watchModified}, rows)
	} else {
		for _, m := range objs {
			if err := p.emit(watchAdded, m); err != nil {
				return err
			}
		}
	}
	// Reconnects wait 100ms, doubling up to 5s; an event starts over.
	bo := backoff.New(100*time.Millisecond, 5*time.Second)
	for {
		events, errc := c.Watch(ctx, index, o.kind.watchKind)
		for ev := range events {
			bo.Reset()
			index = max(index, ev.Index)
			m, err := ev.Message()
			if err != nil {
				return err
			}
			if !a.watchMatches(o, v, m) {
				continue
			}
			typ := watchModified
			if ev.Type == api.EventDelete {
				typ = watchDeleted
			} else if _, ok := p.known[o.kind.key(m)]; !ok {
				typ = watchAdded
			}
			if err := p.emit(typ, m); err != nil {
				return err
			}
		}
		err := <-errc
		switch {
		case ctx.Err() != nil:
			return nil // interrupted: the normal end of -w
		case errors.Is(err, api.ErrGone), errors.Is(err, client.ErrWatchClosed):
			index, err = a.relist(ctx, c, o, p)
			if err != nil {
				return err
			}
		case errors.Is(err, api.ErrUnauthorized), errors.Is(err, api.ErrForbidden), errors.Is(err, api.ErrInvalid):
			return err
		default:
			fmt.Fprintf(a.stderr, "watch interrupted (%v); retrying\n", err)
			if bo.Wait(ctx) != nil {
				return nil
			}
		}
	}
}

// relist lists again after a gap in the stream and prints what changed.
func (a *app) relist(ctx context.Context, c *client.Client, o *getOptions, p *watchPrinter) (uint64, error) {
	objs, index, err := a.fetch(ctx, c, o)
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	for _, m := range objs {
		if !a.watchMatches(o, p.view, m) {
			continue
		}
		key := o.kind.key(m)
		seen[key] = true
		old, ok := p.known[key]
		switch {
		case !ok:
			err = p.emit(watchAdded, m)
		case !proto.Equal(old, m):
			err = p.emit(watchModified, m)
		}
		if err != nil {
			return 0, err
		}
	}
	for key, m := range p.known {
		if !seen[key] {
			if err := p.emit(watchDeleted, m); err != nil {
				return 0, err
			}
		}
	}
	return index, nil
}

// watchMatches narrows the kind-wide watch stream to what was listed.
func (a *app) watchMatches(o *getOptions, v view, m proto.Message) bool {
	if !o.matches(m) {
		return false
	}
	ns := a.namespaceFilter(o)
	switch x := m.(type) {
	case *orchpb.Service:
		return ns == "" || x.GetSpec().GetNamespace() == ns
	case *orchpb.Replica:
		if ns != "" && x.GetNamespace() != ns {
			return false
		}
		return o.node == "" || x.GetNode() == o.node || v.nodeNames[x.GetNode()] == o.node
	}
	return true
}
