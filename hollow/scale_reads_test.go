package hollow_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/internal/measure"
)

// startReaders runs two API readers until ctx ends, each in turn reading
// a service applied so far (GET /v1/services/...) and its replicas (GET
// /v1/replicas?service=...), 100 ms apart: a sample of
// the API's latency, not a load of its own. The function it returns waits
// for them and answers every read's latency and the failed reads.
func (c *scaleCluster) startReaders(ctx context.Context, api *client.Client, applied *appliedSet) func() ([]time.Duration, int) {
	var mu sync.Mutex
	var samples []time.Duration
	failed := 0
	record := func(start time.Time, err error) {
		d := time.Since(start)
		if ctx.Err() != nil {
			return // cut off by the end, not slow
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed++
			return
		}
		samples = append(samples, d)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if i, ok := applied.pick(); ok {
					name := fmt.Sprintf("svc-%d", i)
					start := time.Now()
					_, err := api.GetService(ctx, "default", name)
					record(start, err)
					start = time.Now()
					_, _, err = api.ListReplicas(ctx, client.ReplicaFilter{Namespace: "default", Service: name})
					record(start, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	return func() ([]time.Duration, int) {
		wg.Wait()
		return samples, failed
	}
}

// readRoutes are the routes startReaders calls.
var readRoutes = []string{"GET /v1/namespaces/{ns}/services/{name}", "GET /v1/replicas"}

// servedReads is what master m timed of the readers' reads: its API's
// histogram of their routes (from the handler's start to its end) and
// its read barrier's two stages (a heartbeat round that verifies the
// leadership, then the wait for the store to apply the read index).
// Read before and after placing, the differences tell the master's share
// of a read's latency from that of the reader's process and the network.
type servedReads struct {
	handler, verify, apply measure.Histogram
}

func (c *scaleCluster) servedReads(m *scaleMaster) servedReads {
	page, err := c.metricsPage(m)
	if err != nil {
		progress("no server-side read latency: %v", err)
		return servedReads{}
	}
	var s servedReads
	for _, h := range []struct {
		into   *measure.Histogram
		name   string
		labels map[string]string
		routes []string
	}{
		{&s.handler, "orch_api_request_duration_seconds", nil, readRoutes},
		{&s.verify, "orch_raft_read_index_duration_seconds", map[string]string{"stage": "verify"}, nil},
		{&s.apply, "orch_raft_read_index_duration_seconds", map[string]string{"stage": "apply"}, nil},
	} {
		if *h.into, err = measure.PromHistogram(page, h.name, h.labels, h.routes...); err != nil {
			progress("no server-side read latency: %v", err)
		}
	}
	return s
}

func (s servedReads) sub(before servedReads) servedReads {
	return servedReads{s.handler.Sub(before.handler), s.verify.Sub(before.verify), s.apply.Sub(before.apply)}
}
