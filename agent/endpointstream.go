package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protodelim"
)

// watchEndpoints calls handle with every update of the cluster's service
// endpoints the master pushes (the whole set first), until the stream breaks
// or ctx ends. The master sends an empty update every few seconds, so a
// silent stream is a dead one.
func (c *masterConn) watchEndpoints(ctx context.Context, nodeID string, handle func(*orchpb.EndpointUpdate)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := c.do(ctx, c.stream, http.MethodGet, "/v1/agent/nodes/"+url.PathEscape(nodeID)+"/endpoints", "", nil)
	if err != nil {
		return fmt.Errorf("agent: open endpoint stream: %w", err)
	}
	defer resp.Body.Close()
	idle := time.AfterFunc(streamIdle, cancel)
	defer idle.Stop()
	r := bufio.NewReader(resp.Body)
	for {
		var u orchpb.EndpointUpdate
		if err := (protodelim.UnmarshalOptions{MaxSize: 64 << 20}).UnmarshalFrom(r, &u); err != nil {
			if ctx.Err() != nil && !errors.Is(ctx.Err(), context.Canceled) {
				return ctx.Err()
			}
			return fmt.Errorf("agent: endpoint stream: %w", err)
		}
		idle.Reset(streamIdle)
		handle(&u)
	}
}
