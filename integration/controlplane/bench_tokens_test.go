package controlplane

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
)

// BenchmarkTokenRevoke measures how long a revoked token stays usable: the
// time from the revoke's answer to the moment the last of three masters
// refuses the token, over several revokes sent to a follower. Each master is
// polled with stale reads, so what is measured is the revoke reaching that
// master's store, not a leader round trip.
func BenchmarkTokenRevoke(b *testing.B) {
	const revokes = 20
	c := newCluster(b, 3)
	ctx := context.Background()
	follower := c.masters[len(c.masters)-1].url()
	var gaps []time.Duration
	for range revokes {
		status, body, _, err := c.do(ctx, http.MethodPost, follower, "/v1/tokens", []byte(`{"role":"reader"}`), nil)
		var tok api.Token
		if err != nil || status != http.StatusOK && status != http.StatusCreated || json.Unmarshal(body, &tok) != nil {
			b.Fatalf("create token: %d %v %s", status, err, body)
		}
		c.usableEverywhere(b, tok.Token)
		status, body, _, err = c.do(ctx, http.MethodDelete, follower, "/v1/tokens/"+tok.ID, nil, nil)
		if err != nil || status != http.StatusOK && status != http.StatusNoContent {
			b.Fatalf("revoke token: %d %v %s", status, err, body)
		}
		gaps = append(gaps, c.lastRefusal(b, tok.Token, time.Now()))
	}
	slices.Sort(gaps)
	b.ReportMetric(float64(gaps[len(gaps)/2].Microseconds())/1000, "median_refused_ms")
	b.ReportMetric(float64(gaps[len(gaps)-1].Microseconds())/1000, "worst_refused_ms")
}

// usableEverywhere waits until every master accepts token (it was created
// through one of them).
func (c *cluster) usableEverywhere(b *testing.B, token string) {
	b.Helper()
	for _, m := range c.masters {
		deadline := time.Now().Add(5 * time.Second)
		for c.readWith(m.url(), token) != http.StatusOK {
			if time.Now().After(deadline) {
				b.Fatalf("new token not accepted by %s", m.id)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// lastRefusal polls every master until each refuses token and returns how
// long after since the last one did.
func (c *cluster) lastRefusal(b *testing.B, token string, since time.Time) time.Duration {
	b.Helper()
	var mu sync.Mutex
	var last time.Duration
	var wg sync.WaitGroup
	for _, m := range c.masters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.readWith(m.url(), token) != http.StatusUnauthorized {
				if time.Since(since) > 5*time.Second {
					b.Errorf("revoked token still accepted by %s after 5s", m.id)
					return
				}
				time.Sleep(time.Millisecond)
			}
			mu.Lock()
			last = max(last, time.Since(since))
			mu.Unlock()
		}()
	}
	wg.Wait()
	return last
}
