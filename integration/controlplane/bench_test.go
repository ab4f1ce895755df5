package controlplane

import (
	"context"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkLeaderKill measures write unavailability after a leader is
// killed with SIGKILL, over 10 kills: from the kill to the first write
// acknowledged among writes sent after it. Four clients write through
// random masters, moving on to another master on any error. Default
// Raft timeouts.
func BenchmarkLeaderKill(b *testing.B) {
	const kills = 10
	c := newCluster(b, 3)
	var urls []string
	for _, m := range c.masters {
		urls = append(urls, m.url())
	}
	var mu sync.Mutex
	var acks []ack
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(i)))
			for n := 0; ctx.Err() == nil; n++ {
				name := fmt.Sprintf("k%d-%d", i, n%64)
				sent := time.Now()
				rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				code, _, _, err := c.do(rctx, http.MethodPut, urls[rng.Intn(len(urls))], "/v1/namespaces/default/services/"+name, serviceJSON(name, fmt.Sprint(n)), nil)
				cancel()
				if err == nil && (code == http.StatusOK || code == http.StatusCreated) {
					mu.Lock()
					acks = append(acks, ack{sent, time.Now()})
					mu.Unlock()
				} else {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	var gaps []time.Duration
	b.ResetTimer()
	for k := 0; k < kills; k++ {
		c.waitHealthy(3)
		time.Sleep(time.Second)
		leader := c.leader()
		killed := time.Now()
		leader.kill9()
		var gap time.Duration
		c.eventually("a write after the kill", func() error {
			mu.Lock()
			defer mu.Unlock()
			for _, a := range acks {
				if a.sent.After(killed) {
					gap = a.done.Sub(killed)
					return nil
				}
			}
			return fmt.Errorf("none yet")
		})
		gaps = append(gaps, gap)
		b.Logf("kill %d (%s): writes unavailable for %s", k+1, leader.id, gap.Round(time.Millisecond))
		leader.start()
	}
	b.StopTimer()
	stop()
	wg.Wait()
	slices.Sort(gaps)
	b.ReportMetric(float64(gaps[len(gaps)/2].Milliseconds()), "median_unavail_ms")
	b.ReportMetric(float64(gaps[len(gaps)-1].Milliseconds()), "worst_unavail_ms")
	b.ReportMetric(float64(gaps[0].Milliseconds()), "best_unavail_ms")
}

type ack struct{ sent, done time.Time }

// BenchmarkWrites measures write throughput and latency through the API of
// three masters (fsync on, Raft applies batched) with 1, 16 and 128
// concurrent clients, each writing services in a loop for a fixed time:
// to=leader sends every write to the leader, to=any to a random master
// (followers forward to the leader).
func BenchmarkWrites(b *testing.B) {
	c := newCluster(b, 3)
	leader := c.leader()
	for _, to := range []string{"leader", "any"} {
		for _, clients := range []int{1, 16, 128} {
			b.Run(fmt.Sprintf("clients=%d/to=%s", clients, to), func(b *testing.B) {
				urls := []string{leader.url()}
				if to == "any" {
					urls = nil
					for _, m := range c.masters {
						urls = append(urls, m.url())
					}
				}
				writes, p50, p99 := c.writeLoad(b, urls, clients, writeLoadDuration(b))
				reportFigures(b, writes, p50, p99)
			})
		}
	}
}

// writeLoad runs clients writers of services for d through the masters at
// urls and returns the throughput and the latency percentiles of
// acknowledged writes.
func (c *cluster) writeLoad(b *testing.B, urls []string, clients int, d time.Duration) (float64, time.Duration, time.Duration) {
	return runWriteLoad(b, clients, d, func(ctx context.Context, rng *rand.Rand, name, value string) error {
		code, _, _, err := c.do(ctx, http.MethodPut, urls[rng.Intn(len(urls))], "/v1/namespaces/default/services/"+name, serviceJSON(name, value), nil)
		if err == nil && code != http.StatusOK && code != http.StatusCreated {
			err = fmt.Errorf("PUT service %s: status %d", name, code)
		}
		return err
	})
}

// runWriteLoad runs clients writers in a loop for d, each writing one of 512
// keys at random, and returns the throughput and the latency percentiles of
// acknowledged writes. Any failed write fails the benchmark: nothing is being
// killed here.
func runWriteLoad(b *testing.B, clients int, d time.Duration, write func(ctx context.Context, rng *rand.Rand, name, value string) error) (float64, time.Duration, time.Duration) {
	ctx, stop := context.WithTimeout(context.Background(), d)
	defer stop()
	var mu sync.Mutex
	var lat []time.Duration
	var failures int
	var wg sync.WaitGroup
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(i)))
			var mine []time.Duration
			for n := 0; ctx.Err() == nil; n++ {
				name := fmt.Sprintf("w-%d", rng.Intn(512))
				t0 := time.Now()
				wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := write(wctx, rng, name, fmt.Sprintf("%d-%d", i, n))
				cancel()
				if err != nil {
					mu.Lock()
					failures++
					mu.Unlock()
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if failures > 0 {
		b.Errorf("%d writes failed", failures)
	}
	if len(lat) == 0 {
		b.Fatal("no write succeeded")
	}
	slices.Sort(lat)
	return float64(len(lat)) / elapsed.Seconds(), lat[len(lat)/2], lat[len(lat)*99/100]
}

// writeLoadDuration is how long each BenchmarkWrites case writes: 5 s, or
// ORCH_BENCH_WRITE_SECONDS (longer runs leave time to take profiles).
func writeLoadDuration(b *testing.B) time.Duration {
	v := os.Getenv("ORCH_BENCH_WRITE_SECONDS")
	if v == "" {
		return 5 * time.Second
	}
	secs, err := strconv.Atoi(v)
	if err != nil || secs <= 0 {
		b.Fatalf("ORCH_BENCH_WRITE_SECONDS=%q: want a positive number of seconds", v)
	}
	return time.Duration(secs) * time.Second
}
