package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/orch-io/orch/api"
)

// EventFilter narrows the event stream; empty fields match everything.
type EventFilter struct {
	Kind      string // service, replica or node
	Namespace string
	// Service matches the service's events and its replicas'.
	Service string
	// Replica is an id or a display name (web.2).
	Replica string
	// Node is a node's name or id; it matches node events and events of
	// replicas on the node.
	Node string
	// After resumes after this seq; Limit bounds the history (0: the
	// server's default).
	After uint64
	Limit int
}

func (f EventFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"kind": f.Kind, "namespace": f.Namespace, "service": f.Service, "replica": f.Replica, "node": f.Node} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.After > 0 {
		q.Set("after", strconv.FormatUint(f.After, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// Events returns the recent events matching f, oldest first.
func (c *Client) Events(ctx context.Context, f EventFilter) ([]api.ClusterEvent, error) {
	var out []api.ClusterEvent
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/events", query: f.query()}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// FollowEvents calls fn with the recent events matching f and then with
// each new one, until ctx ends (nil is returned then), fn returns an error
// (returned as is), or the stream breaks.
func (c *Client) FollowEvents(parent context.Context, f EventFilter, fn func(api.ClusterEvent) error) error {
	q := f.query()
	q.Set("follow", "true")
	var fnErr error
	err := followJSON(parent, c, "/v1/events", q, func(e api.ClusterEvent) error {
		fnErr = fn(e)
		return fnErr
	})
	switch {
	case fnErr != nil:
		return fnErr
	case parent.Err() != nil:
		return nil
	case err == nil, errors.Is(err, ErrWatchIdle), errors.Is(err, ErrWatchClosed):
		return err
	}
	var we *api.Error
	if errors.As(err, &we) {
		return err
	}
	return fmt.Errorf("client: follow events: %w", err)
}
