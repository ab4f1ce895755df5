package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/hollow"
	"github.com/orch-io/orch/pki"
)

// rotationOf reads GET /v1/ca/rotation from m with the old admin config.
func (c *cluster) rotationOf(m *master) (*api.CARotation, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, body, _, err := c.do(ctx, http.MethodGet, m.url(), "/v1/ca/rotation", nil, nil)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/ca/rotation: %d %s", code, body)
	}
	var st api.CARotation
	return &st, json.Unmarshal(body, &st)
}

// selfAsMaster calls GET /v1/cluster/self with a master certificate cert
// and no token: the masters accept it only while they trust its CA.
func selfAsMaster(m *master, cert tls.Certificate, roots *x509.CertPool) error {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(m.url() + "/v1/cluster/self")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /v1/cluster/self: %s", resp.Status)
	}
	return nil
}

// TestCARotation replaces the CA of 3 masters with 3 hollow nodes while a
// client holding the old admin config writes all along, and kills the
// leader in the middle and starts it again: the rotation goes on under
// the new leader to the end; no request of the old client fails; every
// node ends with a certificate of the new CA and is never down; a
// certificate only the old CA signed is refused afterwards; /v1/ca serves
// the new CA with the cross proof, so a join token pinning the old CA
// still works.
func TestCARotation(t *testing.T) {
	c := newCluster(t, 3)
	oldKey, err := os.ReadFile(filepath.Join(c.masters[0].dir, "pki", "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	oldCA, err := pki.ParseCA(c.ca, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := oldCA.IssueMaster([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := selfAsMaster(c.masters[0], forged, oldCA.Pool()); err != nil {
		t.Fatalf("before the rotation a master certificate of the CA is refused: %v", err)
	}
	r := rotateUnderTraffic(t, c, true)
	t.Logf("rotation with a leader kill took %s; %d requests", r.elapsed, r.requests)
	if r.failures > 0 {
		t.Fatalf("%d of %d requests with the old admin config failed; last: %v", r.failures, r.requests, r.lastFailure)
	}
	checkRetired(t, c, r.final, oldCA, forged)
}

// BenchmarkCARotate: how long a CA replacement of 3 masters and 3 hollow
// nodes takes, and how many requests of a client holding the old admin
// config fail meanwhile (the goal is none).
func BenchmarkCARotate(b *testing.B) {
	for range b.N {
		c := newCluster(b, 3)
		r := rotateUnderTraffic(b, c, false)
		b.ReportMetric(r.elapsed.Seconds()*1000, "rotate_ms")
		b.ReportMetric(float64(r.requests), "requests")
		b.ReportMetric(float64(r.failures), "failed")
	}
}

// rotation is what rotateUnderTraffic saw.
type rotation struct {
	elapsed            time.Duration
	requests, failures int64
	lastFailure        any
	final              *api.CARotation
}

// rotateUnderTraffic joins 3 hollow nodes, writes through every master with
// the old admin config, and rotates the CA; with killLeader the leader is
// killed once the sign phase is reached and started again.
func rotateUnderTraffic(tb testing.TB, c *cluster, killLeader bool) rotation {
	token, err := os.ReadFile(filepath.Join(c.masters[0].dir, "agent.token"))
	if err != nil {
		tb.Fatal(err)
	}
	var urls []string
	for _, m := range c.masters {
		urls = append(urls, m.url())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fleet, err := hollow.Start(ctx, hollow.Config{Masters: urls, Token: strings.TrimSpace(string(token)), Count: 3, Prefix: "ca",
		Peers: true, HeartbeatInterval: 200 * time.Millisecond, Logger: quiet()})
	if err != nil {
		tb.Fatal(err)
	}
	defer fleet.Stop()
	var r rotation
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.writeUntil(ctx, &r)
	}()
	leader := c.leader()
	start := time.Now()
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	code, body, _, err := c.do(rctx, http.MethodPost, leader.url(), "/v1/ca/rotate", []byte(`{}`), nil)
	rcancel()
	if err != nil || code != http.StatusAccepted {
		tb.Fatalf("POST /v1/ca/rotate: %d %s %v", code, body, err)
	}
	if killLeader {
		c.eventually("the rotation to reach the sign phase", func() error {
			st, err := c.rotationOf(c.live()[0])
			if err == nil && st.Phase != "sign" {
				err = fmt.Errorf("phase %q", st.Phase)
			}
			return err
		})
		// Killed mid-rotation and started again: it comes back trusting
		// both CAs (it kept the next one on disk) and catches up; the
		// rotation waits for every master.
		leader.kill9()
		time.Sleep(time.Second)
		leader.start()
	}
	c.eventually("the old CA to be retired", func() error {
		st, err := c.rotationOf(c.live()[0])
		if err == nil && st.Phase != "" {
			err = fmt.Errorf("phase %q: %d/%d masters, %d/%d nodes, waiting for %v", st.Phase, st.MastersDone, st.Masters, st.NodesDone, st.Nodes, st.Waiting)
		}
		r.final = st
		return err
	})
	r.elapsed = time.Since(start)
	time.Sleep(500 * time.Millisecond)
	cancel()
	wg.Wait()
	return r
}

// writeUntil puts a service through each live master in turn, with the old
// admin config, until ctx ends, counting what fails. A 503, or a refused
// dial to the master killed just after it was picked, is the leader kill,
// not a certificate problem.
func (c *cluster) writeUntil(ctx context.Context, r *rotation) {
	for i := 0; ctx.Err() == nil; i++ {
		live := c.live()
		m := live[i%len(live)]
		kills := m.kills.Load()
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		code, body, _, err := c.do(rctx, http.MethodPut, m.url(), "/v1/namespaces/default/services/during", serviceJSON("during", fmt.Sprint(i)), nil)
		rcancel()
		if ctx.Err() != nil {
			return
		}
		r.requests++
		// A request in flight to a master killed under it has no answer
		// to judge: only the rotation's own refusals count.
		killedUnder := err != nil && m.kills.Load() != kills
		if !isDialError(err) && !killedUnder && (err != nil || (code >= 300 && code != http.StatusServiceUnavailable)) {
			r.failures++
			r.lastFailure = fmt.Sprintf("%d %s %v", code, body, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkRetired: the new CA signs, the old one is refused, /v1/ca proves
// the handover, and no node went down.
func checkRetired(t *testing.T, c *cluster, final *api.CARotation, oldCA *pki.CA, forged tls.Certificate) {
	t.Helper()
	newCA, err := pki.ParseCACert([]byte(final.CAPEM))
	if err != nil {
		t.Fatalf("the CA the rotation ended with: %v", err)
	}
	if newCA.Digest() == oldCA.Digest() {
		t.Fatal("the rotation ended with the old CA")
	}
	m := c.live()[0]
	c.eventually("an old CA's master certificate to be refused", func() error {
		if err := selfAsMaster(m, forged, newCA.Pool()); err == nil {
			return fmt.Errorf("a certificate only the retired CA signed was accepted")
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, served, _, err := c.do(ctx, http.MethodGet, m.url(), "/v1/ca", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := pki.AcceptServedCA(served, oldCA.Digest()); err != nil || string(got) != final.CAPEM {
		t.Fatalf("a token pinning the old CA is not accepted with what /v1/ca serves: %v", err)
	}
	_, nodes, _, err := c.do(ctx, http.MethodGet, m.url(), "/v1/nodes", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(nodes), `"down"`) {
		t.Fatalf("a node went down during the rotation: %s", nodes)
	}
	if n := strings.Count(string(nodes), pki.KeyID(newCA.Cert())); n != 3 {
		t.Fatalf("%d of 3 nodes report a certificate of the new CA: %s", n, nodes)
	}
}
