package controlplane

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/hollow"
)

// metricValue reads one sample (name with its labels, as exposed) from a
// master's /metrics; 0 when it is not there.
func (c *cluster) metricValue(m *master, sample string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, body, _, err := c.do(ctx, http.MethodGet, m.url(), "/metrics", nil, nil)
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics of %s: %d", m.id, code)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, nil
}

// metricSum adds sample's value over masters.
func (c *cluster) metricSum(masters []*master, sample string) (float64, error) {
	var sum float64
	for _, m := range masters {
		v, err := c.metricValue(m, sample)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// TestAgentsResumeAfterLeaderKill: hollow nodes that stream from the leader
// (with peers, as real agents) move to another master when it is killed
// and resume from the set they hold: every one of them begins its new
// stream with an empty delta (no resync), no node is declared down, and no
// replica is replaced.
func TestAgentsResumeAfterLeaderKill(t *testing.T) {
	const nodes = 8
	c := newCluster(t, 3)
	leader := c.leader()
	var urls []string
	for _, m := range c.masters {
		urls = append(urls, m.url())
	}
	token, err := os.ReadFile(filepath.Join(c.masters[0].dir, "agent.token"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fleet, err := hollow.Start(ctx, hollow.Config{Masters: urls, Token: strings.TrimSpace(string(token)), Count: nodes, Prefix: "rs",
		Peers: true, HeartbeatInterval: 200 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Stop()
	body := []byte(`{"kind":"Service","name":"steady","replicas":16,"image":"orch.local/hello:1","resources":{"cpu":"100m","memory":"32Mi"}}`)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	code, out, _, err := c.do(wctx, http.MethodPut, leader.url(), "/v1/namespaces/default/services/steady", body, nil)
	wcancel()
	if err != nil || code != http.StatusCreated {
		t.Fatalf("apply steady: %d %s %v", code, out, err)
	}
	held := func() []string {
		var all []string
		for _, n := range fleet.Nodes() {
			all = append(all, n.Replicas()...)
		}
		slices.Sort(all)
		return all
	}
	c.eventually("16 replicas on the hollow nodes", func() error {
		if got := len(held()); got != 16 {
			return fmt.Errorf("%d replicas held", got)
		}
		return nil
	})
	before := held()
	// Agents start at a master of their own: those on the leader are the
	// ones that must move.
	streams := func(ms []*master) (float64, error) {
		return c.metricSum(ms, `orch_dispatcher_streams{kind="assignments"}`)
	}
	c.eventually("every node streaming", func() error {
		if n, err := streams(c.live()); err != nil || n != nodes {
			return fmt.Errorf("%v of %d streams (%v)", n, nodes, err)
		}
		return nil
	})
	onLeader, err := streams([]*master{leader})
	if err != nil {
		t.Fatal(err)
	}

	leader.kill9()
	c.eventually("every node streaming from the leader resumed on another master", func() error {
		resumed, err := c.metricSum(c.live(), "orch_dispatcher_streams_resumed_total")
		if err != nil {
			return err
		}
		if resumed < onLeader {
			return fmt.Errorf("%v of %v streams resumed", resumed, onLeader)
		}
		if n, err := streams(c.live()); err != nil || n != nodes {
			return fmt.Errorf("%v of %d nodes stream from the survivors (%v)", n, nodes, err)
		}
		return nil
	})
	// Past the new leader's grace period for heartbeats: a node whose
	// reports did not reach it would be down by now, its replicas replaced.
	time.Sleep(4 * time.Second)
	if after := held(); !slices.Equal(before, after) {
		t.Fatalf("replicas changed across the leader kill:\nbefore %v\nafter  %v", before, after)
	}
	c.noNodeDown(t)
}

// noNodeDown fails t when a live master lists a node down.
func (c *cluster) noNodeDown(t *testing.T) {
	for _, m := range c.live() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		code, out, _, err := c.do(ctx, http.MethodGet, m.url(), "/v1/nodes", nil, nil)
		cancel()
		if err != nil || code != http.StatusOK {
			t.Fatalf("GET /v1/nodes: %d %v", code, err)
		}
		if strings.Contains(string(out), `"down"`) {
			t.Fatalf("a node is down after the leader kill: %s", out)
		}
	}
}
