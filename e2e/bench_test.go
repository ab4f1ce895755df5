package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/orch-io/orch/e2e/harness"
	orchpb "github.com/orch-io/orch/proto"
)

// BenchmarkOverlay measures the overlay on a 2-host cluster (run with
// -benchtime 1x; scripts/bench.sh records it in bench/results):
//
//   - TCP throughput from a replica on h2 to a replica on h1 (through veth,
//     bridge, VXLAN, the underlay and back), against h2 to h1 directly on
//     the underlay, and their ratio;
//   - the node DNS server's queries per second and p99 latency, from inside
//     a replica, 8 clients in parallel;
//   - the time from a replica turning healthy (its agent's log) to its
//     address being answered by another node's DNS server.
//
// Both ends of every transfer run in this process, on this machine's cores:
// the figures compare paths, they are not line rates.
func BenchmarkOverlay(b *testing.B) {
	c := harness.New(b, harness.Options{Orchd: orchdBin, Hosts: 2, LogLevel: "info"})
	h1, h2 := c.Hosts[0], c.Hosts[1]
	c.LoadImage(helloTar)
	c.Apply(strings.Replace(helloYAML, "replicas: 6", "replicas: 2", 1))
	reps := c.Running("hello", 2, 2*time.Minute)
	r1, r2 := onHost(c, reps, h1), onHost(c, reps, h2)
	if len(r1) != 1 || len(r2) != 1 {
		b.Fatalf("want one replica per host: %s", harness.Summary(reps))
	}
	ns1, err := c.ReplicaNetNS(r1[0])
	if err != nil {
		b.Fatal(err)
	}
	ns2, err := c.ReplicaNetNS(r2[0])
	if err != nil {
		b.Fatal(err)
	}
	const seconds = 3 * time.Second
	b.ResetTimer()
	for range b.N {
		overlay := throughput(b, ns1, ns2, r1[0].GetIp(), seconds)
		underlay := throughput(b, h1.NSPath, h2.NSPath, h1.Addr.String(), seconds)
		b.ReportMetric(overlay, "overlay_MB/s")
		b.ReportMetric(underlay, "underlay_MB/s")
		b.ReportMetric(overlay/underlay, "overlay/underlay")

		gw := gatewayOf(r2[0].GetIp())
		qps, p99 := dnsLoad(b, ns2, gw, "hello.default.orch.", 8, seconds)
		b.ReportMetric(qps, "dns_qps")
		b.ReportMetric(float64(p99.Microseconds())/1000, "dns_p99_ms")

		b.ReportMetric(healthyToResolvable(b, c, h1), "healthy_to_dns_ms")
	}
}

// throughput sends for d from inside nsFrom to addr:5201 inside nsTo and
// returns what the receiver got, in MB/s.
func throughput(b *testing.B, nsTo, nsFrom, addr string, d time.Duration) float64 {
	b.Helper()
	ln, err := harness.ListenIn(nsTo, "tcp4", net.JoinHostPort(addr, "5201"))
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		n   int64
		dur time.Duration
	}
	got := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- result{}
			return
		}
		defer conn.Close()
		start := time.Now()
		n, _ := io.Copy(io.Discard, conn)
		got <- result{n, time.Since(start)}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := harness.DialFrom(ctx, nsFrom, "tcp4", net.JoinHostPort(addr, "5201"))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 128<<10)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if _, err := conn.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	conn.Close()
	r := <-got
	if r.dur == 0 {
		b.Fatal("receiver got nothing")
	}
	return float64(r.n) / r.dur.Seconds() / 1e6
}

// gatewayOf is the node gateway (.1) of a replica's /24.
func gatewayOf(ip string) string {
	p := netip.PrefixFrom(netip.MustParseAddr(ip), 24).Masked()
	return p.Addr().Next().String()
}

// dnsLoad runs clients in parallel, each asking name of server:53 over UDP
// from inside ns as fast as answers come, for d.
func dnsLoad(b *testing.B, ns, server, name string, clients int, d time.Duration) (float64, time.Duration) {
	b.Helper()
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := harness.DialFrom(ctx, ns, "udp4", net.JoinHostPort(server, "53"))
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			co := &mdns.Conn{Conn: conn}
			var mine []time.Duration
			m := new(mdns.Msg)
			m.SetQuestion(name, mdns.TypeA)
			for time.Since(start) < d {
				t0 := time.Now()
				_ = conn.SetDeadline(t0.Add(2 * time.Second))
				if err := co.WriteMsg(m); err != nil {
					continue
				}
				resp, err := co.ReadMsg()
				if err != nil || len(resp.Answer) == 0 {
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
	if len(lat) == 0 {
		b.Fatal("no DNS answers")
	}
	slices.Sort(lat)
	return float64(len(lat)) / elapsed.Seconds(), lat[len(lat)*99/100]
}

var healthyLine = regexp.MustCompile(`^time=(\S+) .*msg=healthy .*replica=(\S+)`)

// healthyToResolvable scales hello up by two and, for each new replica,
// measures from the moment its agent logged it healthy to the moment the
// DNS server of host `at` answers its address; it returns the mean in ms.
func healthyToResolvable(b *testing.B, c *harness.Cluster, at *harness.Host) float64 {
	b.Helper()
	before := c.Running("hello", 2, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.API.ScaleService(ctx, "default", "hello", 4); err != nil {
		b.Fatal(err)
	}
	gw := ""
	for _, r := range before {
		if c.HostOf(r) == at {
			gw = gatewayOf(r.GetIp())
		}
	}
	resolvableAt := map[string]time.Time{}
	deadline := time.Now().Add(time.Minute)
	for len(resolvableAt) < 2 && time.Now().Before(deadline) {
		ips, err := lookupFrom(at, gw, "hello.default.orch.")
		now := time.Now()
		if err == nil {
			for _, ip := range ips {
				if !slices.Contains(ipsOf(before), ip) && resolvableAt[ip].IsZero() {
					resolvableAt[ip] = now
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	after := c.Running("hello", 4, time.Minute)
	var total time.Duration
	n := 0
	for _, r := range after {
		seen, ok := resolvableAt[r.GetIp()]
		if !ok {
			continue
		}
		healthy, err := healthyAt(c.HostOf(r).Agent.LogPath(), r)
		if err != nil {
			b.Fatal(err)
		}
		total += seen.Sub(healthy)
		n++
	}
	if n == 0 {
		b.Fatalf("no new replica became resolvable: %s", harness.Summary(after))
	}
	return float64(total.Microseconds()) / float64(n) / 1000
}

func lookupFrom(h *harness.Host, server, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := h.DialContext(ctx, "udp4", net.JoinHostPort(server, "53"))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	co := &mdns.Conn{Conn: conn}
	m := new(mdns.Msg)
	m.SetQuestion(name, mdns.TypeA)
	if err := co.WriteMsg(m); err != nil {
		return nil, err
	}
	resp, err := co.ReadMsg()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range resp.Answer {
		if a, ok := rr.(*mdns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out, nil
}

// healthyAt finds when the agent logged r healthy (its first time).
func healthyAt(logPath string, r *orchpb.Replica) (time.Time, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := healthyLine.FindStringSubmatch(sc.Text())
		if m == nil || m[2] != r.DisplayName() || !strings.Contains(sc.Text(), r.GetId()) {
			continue
		}
		return time.Parse(time.RFC3339Nano, m[1])
	}
	return time.Time{}, fmt.Errorf("%s: no healthy line for %s", logPath, r.DisplayName())
}
