package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeServices creates n services named prefix-i through base, each
// retried until it is acknowledged.
func (c *cluster) writeServices(base, prefix string, n int) {
	c.t.Helper()
	for i := range n {
		name := fmt.Sprintf("%s-%d", prefix, i)
		c.eventually("write "+name, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code, body, _, err := c.do(ctx, http.MethodPut, base, "/v1/namespaces/default/services/"+name, serviceJSON(name, name), nil)
			if err != nil {
				return err
			}
			if code != http.StatusOK && code != http.StatusCreated {
				return fmt.Errorf("%d %s", code, body)
			}
			return nil
		})
	}
}

// list returns GET /v1/services from the master at base, raw.
func (c *cluster) list(base string, stale bool) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	path := "/v1/services"
	if stale {
		path += "?stale=true"
	}
	code, body, _, err := c.do(ctx, http.MethodGet, base, path, nil, nil)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", path, code, body)
	}
	return body, nil
}

func countServices(t testing.TB, body []byte) int {
	t.Helper()
	var list []json.RawMessage
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// steadyWriter writes until stopped and remembers the longest time any
// write took to be acknowledged, retries included.
type steadyWriter struct {
	mu      sync.Mutex
	worst   time.Duration
	written int
}

func (c *cluster) runSteadyWriter(ctx context.Context, urls []string, w *steadyWriter) {
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("steady-%d", i)
		start := time.Now()
		for attempt := 0; ctx.Err() == nil; attempt++ {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			code, _, _, err := c.do(rctx, http.MethodPut, urls[(i+attempt)%len(urls)], "/v1/namespaces/default/services/"+name, serviceJSON(name, name), nil)
			cancel()
			if err == nil && (code == http.StatusOK || code == http.StatusCreated) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		w.mu.Lock()
		w.worst = max(w.worst, time.Since(start))
		w.written++
		w.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
}

// TestJoinCatchUpRemove is acceptance 4: with a small snapshot threshold, a
// fourth master joins after the log was compacted and catches up from a
// snapshot; then one master is removed with orchctl and another leaves on
// a graceful stop (--leave). A writer keeps writing throughout.
func TestJoinCatchUpRemove(t *testing.T) {
	c := newCluster(t, 3, "--snapshot-threshold", "64", "--snapshot-interval", "200ms", "--raft-trailing-logs", "16")
	urls := []string{c.masters[0].url(), c.masters[1].url(), c.masters[2].url()}
	c.writeServices(c.masters[1].url(), "before", 200)
	leader := c.leader()
	c.eventually("the leader to snapshot and compact its log", func() error {
		entries, err := os.ReadDir(filepath.Join(leader.dir, "raft", "snapshots"))
		if err != nil || len(entries) == 0 {
			return fmt.Errorf("no snapshot yet (%v)", err)
		}
		return nil
	})

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	w := &steadyWriter{}
	done := make(chan struct{})
	go func() { defer close(done); c.runSteadyWriter(ctx, urls, w) }()

	m4 := joinFromSnapshot(t, c)
	removeWithOrchctl(t, c)

	// m4 leaves by itself when stopped gracefully.
	m4.stop()
	cl := c.waitHealthy(2)
	for _, mem := range cl.Members {
		if mem.ID == "m4" {
			t.Fatalf("m4 still a member after --leave: %+v", cl.Members)
		}
	}
	stop()
	<-done
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Logf("%d writes during join and removals; the slowest took %s", w.written, w.worst.Round(time.Millisecond))
	if w.written < 10 || w.worst > 15*time.Second {
		t.Fatalf("the cluster did not keep serving: %d writes, slowest %s", w.written, w.worst)
	}
	// The remaining two still agree and serve every write.
	c.writeServices(c.leader().url(), "after", 5)
}

// joinFromSnapshot adds a fourth master (that leaves when stopped) and
// waits for it to catch up with the leader, which it can only do from a
// snapshot since the log was compacted.
func joinFromSnapshot(t *testing.T, c *cluster) *master {
	m4 := c.addMaster("--leave", "--log-level", "debug")
	cl := c.waitHealthy(4)
	leaderIndex := uint64(0)
	for _, mem := range cl.Members {
		if mem.Role == "leader" {
			leaderIndex = mem.AppliedIndex
		}
	}
	c.eventually("m4 to catch up", func() error {
		body, err := c.list(m4.url(), true)
		if err != nil {
			return err
		}
		if n := countServices(t, body); n < 200 {
			return fmt.Errorf("m4 has %d services", n)
		}
		st, err := c.status(m4)
		if err != nil {
			return err
		}
		for _, mem := range st.Members {
			if mem.ID == "m4" && mem.AppliedIndex < leaderIndex {
				return fmt.Errorf("m4 at %d, leader was at %d", mem.AppliedIndex, leaderIndex)
			}
		}
		return nil
	})
	if !strings.Contains(m4.out.String(), "Installed remote snapshot") {
		t.Fatalf("m4 caught up without installing a snapshot (the log was not compacted?)")
	}
	return m4
}

// removeWithOrchctl removes a follower among the first three masters with
// orchctl, through another master, and checks it is a member no more.
func removeWithOrchctl(t *testing.T, c *cluster) {
	leader := c.leader()
	var victim, via *master
	for _, m := range c.masters[:3] {
		if m != leader && victim == nil {
			victim = m
		} else if via == nil {
			via = m
		}
	}
	out, err := c.orchctl(via.url(), "cluster", "remove", victim.id)
	if err != nil {
		t.Fatalf("orchctl cluster remove %s: %v\n%s", victim.id, err, out)
	}
	victim.stop()
	cl := c.waitHealthy(3)
	for _, mem := range cl.Members {
		if mem.ID == victim.id {
			t.Fatalf("%s still a member after its removal: %+v", victim.id, cl.Members)
		}
	}
}
