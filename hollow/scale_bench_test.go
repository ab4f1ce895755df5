package hollow_test

import (
	"context"
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/master"
	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
)

// scaleSizes are the sizes of `make bench-scale`: the 5,000 nodes
// in 5 zones and 1,000 services of 150 replicas unless ORCH_SCALE_NODES,
// ORCH_SCALE_SERVICES, ORCH_SCALE_REPLICAS and ORCH_SCALE_HEARTBEAT say
// otherwise.
type scaleSizes struct {
	nodes, services, replicas, zones int
	heartbeat                        time.Duration
}

func scaleFromEnv(b *testing.B) scaleSizes {
	s := scaleSizes{nodes: 5000, services: 1000, replicas: 150, zones: 5, heartbeat: time.Second}
	for name, p := range map[string]*int{"ORCH_SCALE_NODES": &s.nodes, "ORCH_SCALE_SERVICES": &s.services, "ORCH_SCALE_REPLICAS": &s.replicas} {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				b.Fatalf("%s=%q: want a positive number", name, v)
			}
			*p = n
		}
	}
	if v := os.Getenv("ORCH_SCALE_RAFT_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("ORCH_SCALE_RAFT_TIMEOUT=%q: want a duration", v)
		}
		// As orchd's --raft-heartbeat-timeout and --raft-election-timeout,
		// with the lease half of them, the defaults' proportions.
		masterRaft.HeartbeatTimeout, masterRaft.ElectionTimeout, masterRaft.LeaderLeaseTimeout = d, d, d/2
	}
	if v := os.Getenv("ORCH_SCALE_HEARTBEAT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("ORCH_SCALE_HEARTBEAT=%q: want a duration", v)
		}
		s.heartbeat = d
	}
	return s
}

// BenchmarkScale is `make bench-scale` (issue 15): three masters in this
// process (real Raft over TCP, bbolt), hollow nodes in child processes
// (one per zone) that ask for peers as real agents do, and services spread
// over the zones. It reports the time until every replica runs, the API
// read p99 meanwhile, the masters' CPU and memory, the steady state (CPU,
// bytes the masters' agent streams send per node per second), node loss
// and a leader failure. docs/scale.md explains each figure.
func BenchmarkScale(b *testing.B) {
	s := scaleFromEnv(b)
	servePprof(b, 0)
	// The masters' collector as orchd sets it (masterGCPercent).
	defer debug.SetGCPercent(debug.SetGCPercent(200))
	for range b.N {
		c := startCluster(b, 3*s.heartbeat)
		followers := c.joinFollowers(3, 3*s.heartbeat)
		c.zonedFleet(b, s, followers)
		b.ReportMetric(float64(s.nodes), "nodes")
		b.ReportMetric(float64(s.services*s.replicas), "replicas")
		changes := c.leaderChanges(b)
		c.placeAll(b, s)
		b.ReportMetric(c.leaderChanges(b)-changes, "leader-changes-placing")
		c.steadyState(b, s)
		c.nodeLoss(b, s)
		c.leaderFailure(b, s, followers)
	}
}

// zonedFleet starts one `orchd hollow` per zone, joined to every master.
func (c *cluster) zonedFleet(b *testing.B, s scaleSizes, followers []*master.Master) {
	urls := []string{c.m.URL()}
	for _, f := range followers {
		urls = append(urls, f.URL())
	}
	for z := range s.zones {
		count := s.nodes / s.zones
		if z < s.nodes%s.zones {
			count++
		}
		args := []string{"hollow", "--pprof-addr", pprofAddr(b, z+1)}
		cmd := exec.Command(orchd(b), append(args, "--count", strconv.Itoa(count), "--join", strings.Join(urls, ","), "--token", c.token,
			"--name", fmt.Sprintf("z%d", z), "--labels", fmt.Sprintf("zone=z%d", z), "--peers",
			"--capacity-cpu", "16", "--capacity-memory", "64Gi", "--heartbeat-interval", s.heartbeat.String(), "--log-level", "warn")...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		// A benchmark killed before its cleanup takes its fleets along.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { stopChild(cmd) })
	}
	began, last := time.Now(), time.Now()
	c.eventually(10*time.Minute, fmt.Sprintf("%d hollow nodes ready", s.nodes), func() error {
		ready := c.readyNodes()
		if time.Since(last) > 30*time.Second {
			fmt.Fprintf(os.Stderr, "bench-scale: %d of %d nodes ready after %s\n", ready, s.nodes, time.Since(began).Round(time.Second))
			last = time.Now()
		}
		if ready != s.nodes {
			return fmt.Errorf("%d of %d ready", ready, s.nodes)
		}
		return nil
	})
}

// pprofAddr is where process i of the benchmark (0: this one, 1...: the
// zones' fleets) serves its profiles when ORCH_SCALE_PPROF gives a first
// port: ORCH_SCALE_PPROF=6060 serves this process on 127.0.0.1:6060 and
// zone z's on 6061+z. Empty without it.
func pprofAddr(b *testing.B, i int) string {
	v := os.Getenv("ORCH_SCALE_PPROF")
	if v == "" {
		return ""
	}
	port, err := strconv.Atoi(v)
	if err != nil || port <= 0 || port+i > 65535 {
		b.Fatalf("ORCH_SCALE_PPROF=%q: want a port number", v)
	}
	return "127.0.0.1:" + strconv.Itoa(port+i)
}

// servePprof serves this process's profiles (the masters') at pprofAddr.
func servePprof(b *testing.B, i int) {
	addr := pprofAddr(b, i)
	if addr == "" {
		return
	}
	srv := &http.Server{Addr: addr, Handler: http.DefaultServeMux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ListenAndServe() }()
	b.Cleanup(func() { _ = srv.Close() })
}

func stopChild(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (c *cluster) readyNodes() int {
	ready := 0
	for _, n := range c.m.Store().Nodes() {
		if n.Status() == orchpb.NodeReady {
			ready++
		}
	}
	return ready
}

// placeAll applies the services and reports how long until every replica
// runs, the rate, the API read p99 meanwhile, and the masters' CPU and
// memory.
func (c *cluster) placeAll(b *testing.B, s scaleSizes) {
	want := s.services * s.replicas
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	events, err := c.m.Store().Watch(ctx, c.m.Store().Index())
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	result := timeReplicas(events, want, start)
	reads := c.readLatencies(ctx)
	cpuBefore := cpuSeconds()
	c.applySpread(s)
	var m replicaMarks
	select {
	case m = <-result:
	case <-time.After(20 * time.Minute):
		b.Fatalf("not all %d replicas ran within 20 minutes", want)
	}
	cancel()
	lat := <-reads
	b.ReportMetric(m.running.Seconds(), "all-running-s")
	b.ReportMetric(float64(want)/m.running.Seconds(), "running/s")
	b.ReportMetric(percentile(lat, 0.99).Seconds()*1000, "api-read-p99-ms")
	b.ReportMetric(float64(len(lat)), "api-reads")
	b.ReportMetric((cpuSeconds()-cpuBefore)/m.running.Seconds(), "masters-cpu-cores-placing")
	b.ReportMetric(float64(rssBytes())/(1<<20), "masters-rss-MB")
}

// applySpread applies the services, each spread over the zones, 16 at a
// time.
func (c *cluster) applySpread(s scaleSizes) {
	sem := make(chan struct{}, 16)
	done := make(chan struct{}, s.services)
	for i := range s.services {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; done <- struct{}{} }()
			c.applyRetrying(fmt.Sprintf("kind: Service\nname: svc-%d\nreplicas: %d\nimage: bench:1\nresources: {cpu: 100m, memory: 64Mi}\nplacement: {spreadBy: zone}\n", i, s.replicas))
		}()
	}
	for range s.services {
		<-done
	}
}

// applyRetrying applies a manifest until it succeeds, as a deploy tool
// would: an apply is declarative, so one repeated after a leader change
// (no_leader, outcome unknown) is harmless. It gives up after a minute.
func (c *cluster) applyRetrying(yaml string) {
	spec, err := manifest.ParseOne([]byte(yaml))
	if err != nil {
		c.t.Error(err)
		return
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := c.api.ApplyService(c.ctx, spec, nil)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Errorf("apply %s: still failing after a minute: %v", spec.GetName(), err)
			return
		}
		fmt.Fprintf(os.Stderr, "bench-scale: apply %s: %v (retrying)\n", spec.GetName(), err)
		time.Sleep(100 * time.Millisecond)
	}
}

// readLatencies reads one service's replicas through the API, over and
// over, until ctx ends, and sends the latencies.
func (c *cluster) readLatencies(ctx context.Context) <-chan []time.Duration {
	out := make(chan []time.Duration, 1)
	go func() {
		var lat []time.Duration
		for i := 0; ctx.Err() == nil; i++ {
			t := time.Now()
			_, _, err := c.api.ListReplicas(ctx, client.ReplicaFilter{Namespace: "default", Service: fmt.Sprintf("svc-%d", i%50)})
			if err == nil {
				lat = append(lat, time.Since(t))
			}
			time.Sleep(10 * time.Millisecond)
		}
		out <- lat
	}()
	return out
}
