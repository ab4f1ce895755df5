package hollow_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/internal/measure"
)

// scaleCluster is BenchmarkScale's three masters, each an orchd process,
// with an admin client for each.
type scaleCluster struct {
	b       *testing.B
	ctx     context.Context
	masters []*scaleMaster
	api     map[string]*client.Client // by master id
	http    *http.Client              // for /metrics
	admin   string
	ca      string // the cluster CA, PEM
	agent   string // the agent join token
}

var (
	errScaleTimeout = errors.New("scale: timed out")
	// errScaleStalled ends a poll at once (no retry): it will not converge.
	errScaleStalled = errors.New("scale: stalled")
)

// startScaleCluster starts m1 (bootstrap), then m2 and m3 joining it, and
// waits until the three are healthy voters under one leader.
func startScaleCluster(ctx context.Context, b *testing.B) *scaleCluster {
	bin := buildOrchd(b)
	c := &scaleCluster{b: b, ctx: ctx, api: map[string]*client.Client{}}
	first := newScaleMaster(b, "m1")
	c.masters = append(c.masters, first)
	if err := first.start(bin, "--bootstrap"); err != nil {
		b.Fatal(err)
	}
	var cfg *client.Config
	err := poll(ctx, time.Minute, 100*time.Millisecond, func() error {
		var err error
		if cfg, _, err = client.LoadConfig(filepath.Join(first.dir, "data", "admin.conf")); err != nil {
			return err
		}
		_, err = os.Stat(filepath.Join(first.dir, "data", "master.token"))
		return err
	})
	if err != nil {
		b.Fatalf("m1 did not bootstrap: %v\n%s", err, first.logTail())
	}
	c.admin = cfg.Token
	c.agent = readToken(b, filepath.Join(first.dir, "data", "agent.token"))
	for _, id := range []string{"m2", "m3"} {
		m := newScaleMaster(b, id)
		c.masters = append(c.masters, m)
		err := m.start(bin, "--join", first.url(), "--token-file", filepath.Join(first.dir, "data", "master.token"))
		if err != nil {
			b.Fatal(err)
		}
	}
	c.clients(cfg.CA)
	if err := poll(ctx, 2*time.Minute, 100*time.Millisecond, c.healthy); err != nil {
		for _, m := range c.masters {
			b.Logf("%s:\n%s", m.id, m.logTail())
		}
		b.Fatalf("three healthy masters: %v", err)
	}
	return c
}

func readToken(b *testing.B, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// clients makes an admin client per master and one HTTP client for
// /metrics, trusting the cluster CA.
func (c *scaleCluster) clients(ca string) {
	c.ca = ca
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(ca)) {
		c.b.Fatal("admin.conf holds no CA")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 4}
	c.http = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	c.b.Cleanup(tr.CloseIdleConnections)
	for _, m := range c.masters {
		api, err := client.New(&client.Config{Server: m.url(), Token: c.admin, CA: ca})
		if err != nil {
			c.b.Fatal(err)
		}
		c.api[m.id] = api
	}
}

// healthy: every live master lists three healthy members and one leader.
func (c *scaleCluster) healthy() error {
	for _, m := range c.live() {
		cl, err := c.api[m.id].Cluster(c.ctx)
		if err != nil {
			return err
		}
		if len(cl.Members) != len(c.masters) || cl.LeaderID == "" {
			return fmt.Errorf("%s sees %d members, leader %q", m.id, len(cl.Members), cl.LeaderID)
		}
		for _, mem := range cl.Members {
			if !mem.Healthy {
				return fmt.Errorf("%s sees %s unhealthy", m.id, mem.ID)
			}
		}
	}
	return nil
}

func (c *scaleCluster) live() []*scaleMaster {
	var out []*scaleMaster
	for _, m := range c.masters {
		if m.alive() {
			out = append(out, m)
		}
	}
	return out
}

// leader is the live master the live masters name leader.
func (c *scaleCluster) leader() (*scaleMaster, error) {
	var leader *scaleMaster
	err := poll(c.ctx, time.Minute, 100*time.Millisecond, func() error {
		for _, m := range c.live() {
			cl, err := c.api[m.id].Cluster(c.ctx)
			if err != nil {
				continue
			}
			for _, l := range c.live() {
				if l.id == cl.LeaderID {
					leader = l
					return nil
				}
			}
		}
		return errors.New("no live leader")
	})
	return leader, err
}

// metric reads one figure from master m's /metrics page.
func (c *scaleCluster) metric(m *scaleMaster, name string, labels map[string]string) (float64, error) {
	page, err := c.metricsPage(m)
	if err != nil {
		return 0, err
	}
	v, _ := measure.PromValue(page, name, labels)
	return v, nil
}

// metricsPage is master m's /metrics page.
func (c *scaleCluster) metricsPage(m *scaleMaster) (string, error) {
	req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, m.url()+"/metrics", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.admin)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("scale: metrics of %s: %w", m.id, err)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("scale: metrics of %s: %s %w", m.id, resp.Status, err)
	}
	return string(page), nil
}

// poll calls check every interval until it returns nil or
// errScaleStalled, ctx ends or timeout passes (then errScaleTimeout with
// check's last error).
func poll(ctx context.Context, timeout, interval time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil || errors.Is(err, errScaleStalled) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("scale: %w (last: %w)", ctx.Err(), err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %s: %w", errScaleTimeout, timeout, err)
		}
		time.Sleep(interval)
	}
}

// follower is a live master other than leader (leader when there is
// none): the benchmark's polls of /metrics go there, off the leader, whose
// CPU they would otherwise take (a scrape counts every replica).
func (c *scaleCluster) follower(leader *scaleMaster) *scaleMaster {
	for _, m := range c.live() {
		if m != leader {
			return m
		}
	}
	return leader
}
