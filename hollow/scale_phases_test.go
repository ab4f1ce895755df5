package hollow_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/hollow"
	"github.com/orch-io/orch/master"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// steadyWindow is how long the steady state is watched.
const steadyWindow = 20 * time.Second

// steadyState reports, with nothing changing, the masters' CPU and the
// bytes their agent streams send per node per second (assignment deltas
// and keepalives, endpoint updates), as the dispatchers count them.
func (c *cluster) steadyState(b *testing.B, s scaleSizes) {
	time.Sleep(5 * time.Second) // the last reports and deltas settle
	bytesBefore, cpuBefore := c.streamBytes(b), cpuSeconds()
	time.Sleep(steadyWindow)
	sent, cpu := c.streamBytes(b)-bytesBefore, cpuSeconds()-cpuBefore
	b.ReportMetric(sent/steadyWindow.Seconds()/float64(s.nodes), "steady-stream-B/s/node")
	b.ReportMetric(cpu/steadyWindow.Seconds(), "steady-masters-cpu-cores")
}

// streamBytes is what every master's dispatcher has written to agent
// streams, from their /metrics.
func (c *cluster) streamBytes(b *testing.B) float64 {
	sum, _ := c.scrape(b, "orch_dispatcher_stream_sent_bytes_total{")
	return sum
}

// leaderChanges is the most leader changes any master has seen.
func (c *cluster) leaderChanges(b *testing.B) float64 {
	_, most := c.scrape(b, "orch_raft_leader_changes_total ")
	return most
}

// scrape reads the samples whose line begins with prefix (a metric's name
// and "{" or " ") from every master's /metrics, and returns their sum and
// the largest of them.
func (c *cluster) scrape(b *testing.B, prefix string) (sum, most float64) {
	cfg, _, err := client.LoadConfig(filepath.Join(c.dir, master.AdminConfigFile))
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(cfg.CA))
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	cl, err := c.api.Cluster(c.ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range cl.Members {
		req, _ := http.NewRequestWithContext(c.ctx, http.MethodGet, m.APIAddress+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+cfg.Token)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatalf("metrics of %s: %v", m.ID, err)
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), prefix); ok {
				f, _ := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
				sum, most = sum+f, max(most, f)
			}
		}
		resp.Body.Close()
	}
	return sum, most
}

// nodeLoss joins two more nodes, runs a service on them, silences one
// and reports when the masters marked it down and when its replicas ran
// on the other.
func (c *cluster) nodeLoss(b *testing.B, s scaleSizes) {
	cl, err := c.api.Cluster(c.ctx)
	if err != nil {
		b.Fatal(err)
	}
	var urls []string
	for _, m := range cl.Members {
		urls = append(urls, m.APIAddress)
	}
	// Joined to every master, as the zones' nodes: the survivor must
	// move when the leader stops later.
	f, err := hollow.Start(c.ctx, hollow.Config{Masters: urls, Token: c.token, Count: 2, Prefix: "victim", Peers: true,
		Labels: map[string]string{"role": "victim", "zone": "z0"}, Logger: quietLogger(),
		HeartbeatInterval: s.heartbeat, Capacity: &orchpb.ResourceAmounts{CpuMillis: 16000, MemoryBytes: 64 << 30}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(f.Stop)
	c.eventually(time.Minute, "the two victim nodes ready", func() error {
		if ready := c.readyNodes(); ready != s.nodes+2 {
			return fmt.Errorf("%d of %d ready", ready, s.nodes+2)
		}
		return nil
	})
	c.apply("kind: Service\nname: loss\nreplicas: 20\nimage: bench:1\nresources: {cpu: 100m}\nplacement: {constraints: [\"role == victim\"]}\n")
	c.running("loss", 20, 5*time.Minute)
	victim := f.Nodes()[0]
	killed := time.Now()
	victim.Kill()
	var down time.Duration
	c.eventually(5*time.Minute, "the silent node's replicas run on the other", func() error {
		if n := c.m.Store().Node(victim.ID()); down == 0 && n.Status() == orchpb.NodeDown {
			down = time.Since(killed)
		}
		running := 0
		for _, r := range c.m.Store().Replicas(store.ReplicaFilter{Namespace: "default", Service: "loss"}) {
			if r.Desired() == orchpb.DesiredRunning && r.Observed() == orchpb.ReplicaRunning && r.GetNode() != victim.ID() {
				running++
			}
		}
		if running != 20 {
			return fmt.Errorf("%d of 20 running elsewhere", running)
		}
		return nil
	})
	b.ReportMetric(down.Seconds(), "node-down-s")
	b.ReportMetric(time.Since(killed).Seconds(), "node-loss-replaced-s")
}

// leaderFailure stops the leader (in this process, so not a kill -9: see
// leader-stop-s) and reports, from the moment it is gone, when a write
// succeeds through another master, when every node streams from the
// survivors again, and how many replicas were replaced meanwhile (none
// should be).
func (c *cluster) leaderFailure(b *testing.B, s scaleSizes, followers []*master.Master) {
	before := runningIDs(followers[0].Store())
	other, err := client.New(&client.Config{Server: followers[0].URL() + "," + followers[1].URL(), Token: c.adminToken(b), CA: string(c.m.CA().CertPEM())})
	if err != nil {
		b.Fatal(err)
	}
	// Stop closes the API (every stream), waits up to 5 s for requests in
	// flight, then ends Raft: the leader is gone to the others when it
	// returns, and the clock starts there.
	began := time.Now()
	c.m.Stop()
	stopped := time.Now()
	b.ReportMetric(stopped.Sub(began).Seconds(), "leader-stop-s")
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := other.ScaleService(ctx, "default", "loss", 20)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("no write through the other masters a minute after the leader stopped: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.ReportMetric(time.Since(stopped).Seconds(), "leader-loss-write-s")
	for streams(followers) < s.nodes+1 {
		if time.Since(stopped) > 5*time.Minute {
			b.Fatalf("%d of %d nodes stream again 5 minutes after the leader stopped", streams(followers), s.nodes+1)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.ReportMetric(time.Since(stopped).Seconds(), "leader-loss-reconnected-s")
	time.Sleep(3 * s.heartbeat)
	after := runningIDs(followers[0].Store())
	replaced := 0
	for id := range before {
		if !after[id] {
			replaced++
		}
	}
	b.ReportMetric(float64(replaced), "leader-loss-replaced")
}

// streams counts the assignment streams the masters serve.
func streams(masters []*master.Master) int {
	n := 0
	for _, m := range masters {
		n += m.AssignmentStreams()
	}
	return n
}

func runningIDs(st *store.Store) map[string]bool {
	out := map[string]bool{}
	for _, r := range st.AllReplicas() {
		if r.Desired() == orchpb.DesiredRunning && r.Observed() == orchpb.ReplicaRunning {
			out[r.GetId()] = true
		}
	}
	return out
}

func (c *cluster) adminToken(b *testing.B) string {
	cfg, _, err := client.LoadConfig(filepath.Join(c.dir, master.AdminConfigFile))
	if err != nil {
		b.Fatal(err)
	}
	return cfg.Token
}

// percentile is the p-th (0..1) of lat, nearest rank; 0 when empty.
func percentile(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func TestPercentile(t *testing.T) {
	lat := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {0.1, 1}, {0, 1}} {
		if got := percentile(lat, tc.p); got != tc.want {
			t.Errorf("percentile %v = %v, want %v", tc.p, got, tc.want)
		}
	}
	if percentile(nil, 0.99) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}
