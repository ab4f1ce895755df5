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

// serverReads is master m's histogram of the readers' routes, as its API
// timed them (from the handler's start to its end): read before and after
// placing, the difference tells the master's share of a read's latency
// from the share of the reader's own process and the network.
func (c *scaleCluster) serverReads(m *scaleMaster) measure.Histogram {
	page, err := c.metricsPage(m)
	if err != nil {
		progress("no server-side read latency: %v", err)
		return measure.Histogram{}
	}
	h, err := measure.PromHistogram(page, "orch_api_request_duration_seconds", nil, readRoutes...)
	if err != nil {
		progress("no server-side read latency: %v", err)
	}
	return h
}
