package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/e2e/harness"
	orchpb "github.com/orch-io/orch/proto"
)

// dnsTTL is the node DNS server's answer TTL (netoverlay/dns.DefaultTTL).
const dnsTTL = 5 * time.Second

// TestOverlay is issue 6's acceptance on one 3-host cluster, step by step:
// discovery by name, the full mesh, names outside the cluster, host ports,
// health leaving DNS, agent restarts, drift repair, a lost node, and at the
// end nothing left behind. Steps share the cluster and run in order.
func TestOverlay(t *testing.T) {
	// Registered before the cluster, so it runs after all of its cleanups.
	var c *harness.Cluster
	t.Cleanup(func() {
		if c == nil {
			return
		}
		if left := c.Leftovers(); len(left) > 0 {
			t.Errorf("left behind after the suite: %v", left)
		}
	})
	c = harness.New(t, harness.Options{Orchd: orchdBin})
	c.ServeOutsideZone("e2e.test", map[string]netip.Addr{"www.e2e.test.": netip.MustParseAddr("192.0.2.80")})
	c.LoadImage(helloTar)
	c.Apply(helloYAML)
	reps := c.Running("hello", 6, 2*time.Minute)
	h1, h2, h3 := c.Hosts[0], c.Hosts[1], c.Hosts[2]
	for _, h := range c.Hosts {
		if n := len(onHost(c, reps, h)); n != 2 {
			t.Fatalf("%s runs %d replicas of hello, want 2 (spread): %s", h.Name, n, harness.Summary(reps))
		}
	}
	probe := replicaAPI{h1, onHost(c, reps, h1)[0]}
	s := &overlaySuite{c: c, reps: reps, probe: probe, h1: h1, h2: h2, h3: h3}

	step(t, "discovery by name from host 1", s.discoveryByName)
	step(t, "full mesh: every replica reaches every other directly", func(t *testing.T) {
		meshCheck(t, c, reps)
	})
	step(t, "a name outside .orch resolves through the node's upstream", s.outsideNames)
	step(t, "hostPort answers on the host's underlay address from another host", s.hostPort)
	step(t, "an unhealthy replica leaves DNS and comes back", s.unhealthyLeavesDNS)
	step(t, "an agent restart keeps replicas, their addresses and connectivity", s.agentRestartKeepsReplicas)
	step(t, "a peer route deleted by hand comes back", s.peerRouteRepaired)
	step(t, "the harness cuts a host off and heals it", s.cutAndHeal)
	step(t, "a lost node's records go, its replacements' come", s.lostNode)
	step(t, "orchd agent --cleanup removes what the agent installed", s.agentCleanup)
}

// overlaySuite is what TestOverlay's steps share: the cluster, the six
// replicas of hello it started with, its hosts, and a replica on h1 to
// probe from.
type overlaySuite struct {
	c          *harness.Cluster
	reps       []*orchpb.Replica
	probe      replicaAPI
	h1, h2, h3 *harness.Host
}

// discoveryByName resolves the service, a slot and an unknown name from a
// replica on h1, and spreads requests by name over every replica.
func (s *overlaySuite) discoveryByName(t *testing.T) {
	reps, probe := s.reps, s.probe
	want := ipsOf(reps)
	for _, name := range []string{"hello.default.orch", "hello"} {
		got, err := probe.resolve(name)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("%s resolves to %v (%v), want the 6 replicas %v", name, got, err, want)
		}
	}
	r3 := reps[2]
	if got, err := probe.resolve(fmt.Sprintf("%d.hello.default.orch", r3.GetSlot())); err != nil || !slices.Equal(got, []string{r3.GetIp()}) {
		t.Fatalf("slot name resolves to %v (%v), want %s", got, err, r3.GetIp())
	}
	if _, err := probe.resolve("nope.default.orch"); err == nil {
		t.Fatal("an unknown service resolved")
	}
	seen := map[string]int{}
	for i := range 60 {
		target := "http://hello:8080/"
		if i%2 == 1 {
			target = "http://hello.default.orch:8080/"
		}
		body, err := probe.fetch(target)
		if err != nil {
			t.Fatal(err)
		}
		seen[hostname(body)]++
	}
	for _, r := range reps {
		if seen[r.DisplayName()] == 0 {
			t.Fatalf("over 60 requests %s never answered: %v", r.DisplayName(), seen)
		}
	}
	t.Logf("answers over 60 requests: %v", seen)
}

// outsideNames resolves a name outside the cluster on every host through
// the node's upstream, and refuses one the upstream does not know.
func (s *overlaySuite) outsideNames(t *testing.T) {
	c, reps, probe := s.c, s.reps, s.probe
	for _, h := range c.Hosts {
		r := replicaAPI{h, onHost(c, reps, h)[0]}
		got, err := r.resolve("www.e2e.test")
		if err != nil || !slices.Equal(got, []string{"192.0.2.80"}) {
			t.Fatalf("www.e2e.test from %s resolves to %v (%v), want 192.0.2.80", h.Name, got, err)
		}
	}
	if _, err := probe.resolve("missing.e2e.test"); err == nil {
		t.Fatal("a name the upstream does not know resolved")
	}
}

// hostPort runs web with a host port on h2 and reaches it from h3 and
// from a replica on h1.
func (s *overlaySuite) hostPort(t *testing.T) {
	c, probe, h2, h3 := s.c, s.probe, s.h2, s.h3
	c.Apply(webYAML)
	web := c.Running("web", 1, time.Minute)[0]
	if c.HostOf(web) != h2 {
		t.Fatalf("web runs on %s, want h2", c.HostOf(web).Name)
	}
	url := "http://" + h2.Addr.String() + ":18080/"
	c.Eventually("h2's host port answers from h3", 20*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		body, err := h3.Get(ctx, url)
		if err != nil {
			return err
		}
		if hostname(body) != "web.1" {
			return fmt.Errorf("answered by %q", hostname(body))
		}
		return nil
	})
	// From a replica on another host: leaves the cluster CIDR, so it is
	// masqueraded to h1's address on the way.
	body, err := probe.fetch(url)
	if err != nil || hostname(body) != "web.1" {
		t.Fatalf("host port from a replica on h1: %q, %v", body, err)
	}
}

// unhealthyLeavesDNS fails a replica's health check and checks it leaves
// DNS in time and comes back once healed or restarted.
func (s *overlaySuite) unhealthyLeavesDNS(t *testing.T) {
	c, reps, probe, h2 := s.c, s.reps, s.probe, s.h2
	target := replicaAPI{h2, onHost(c, reps, h2)[0]}
	ip := target.rep.GetIp()
	if _, err := target.get("/fail-health"); err != nil {
		t.Fatal(err)
	}
	failed := time.Now()
	// interval x retries + TTL, and some room for the report's trip.
	limit := 2*time.Second + dnsTTL + 5*time.Second
	var unhealthy bool
	err := harness.Poll(limit, 100*time.Millisecond, func() error {
		if !unhealthy {
			r, err := c.Replicas("hello")
			if err == nil {
				for _, x := range r {
					unhealthy = unhealthy || (x.GetId() == target.rep.GetId() && x.Observed() == orchpb.ReplicaUnhealthy)
				}
			}
		}
		got, err := probe.resolve("hello")
		if err != nil {
			return err
		}
		if slices.Contains(got, ip) {
			return fmt.Errorf("%s still answered: %v", ip, got)
		}
		return nil
	})
	if err != nil {
		_, _ = target.get("/heal")
		t.Fatalf("replica failing its health check still in DNS after %s (reported unhealthy: %v): %v", limit, unhealthy, err)
	}
	t.Logf("unhealthy -> gone from DNS in %s (limit %s)", time.Since(failed).Round(time.Millisecond), limit)
	// The agent restarts an unhealthy replica (restart: always), which
	// heals it too; /heal only helps if the restart has not come yet.
	_, _ = target.get("/heal")
	healed := time.Now()
	c.Eventually("the healed replica is back in DNS", 30*time.Second, func() error {
		got, err := probe.resolve("hello")
		if err != nil {
			return err
		}
		if !slices.Contains(got, ip) {
			return fmt.Errorf("%s not answered yet: %v", ip, got)
		}
		return nil
	})
	t.Logf("healed or restarted -> back in DNS in %s", time.Since(healed).Round(time.Millisecond))
}

// agentRestartKeepsReplicas kills h2's agent and starts it again: the
// replicas, their addresses, the mesh and DNS are unchanged.
func (s *overlaySuite) agentRestartKeepsReplicas(t *testing.T) {
	c, h2 := s.c, s.h2
	before := c.Running("hello", 6, 30*time.Second)
	// Killed, not stopped: nothing of the agent's own shutdown runs.
	mark := h2.Agent.LogSize()
	if err := h2.Agent.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := h2.Agent.Start(); err != nil {
		t.Fatal(err)
	}
	if err := h2.Agent.WaitLog(mark, "agent running", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// Let it adopt, sync its overlay and report at least once.
	time.Sleep(3 * time.Second)
	c.NodeState(h2, orchpb.NodeReady, 30*time.Second)
	after := c.Running("hello", 6, 30*time.Second)
	for i := range before {
		if before[i].GetId() != after[i].GetId() || before[i].GetIp() != after[i].GetIp() {
			t.Fatalf("replica changed across the agent restart: %s -> %s", harness.Summary(before), harness.Summary(after))
		}
	}
	meshCheck(t, c, after)
	onH2 := replicaAPI{h2, onHost(c, after, h2)[0]}
	if got, err := onH2.resolve("hello"); err != nil || !slices.Equal(got, ipsOf(after)) {
		t.Fatalf("DNS on h2 after the restart: %v (%v), want %v", got, err, ipsOf(after))
	}
}

// peerRouteRepaired deletes h1's route to h2's subnet and waits for the
// agent to put it back.
func (s *overlaySuite) peerRouteRepaired(t *testing.T) {
	c, probe, h1, h2 := s.c, s.probe, s.h1, s.h2
	nodes, err := c.Nodes()
	if err != nil {
		t.Fatal(err)
	}
	var subnet string
	for _, n := range nodes {
		if n.GetName() == h2.Name {
			subnet = n.GetSubnet()
		}
	}
	ctx := context.Background()
	if out, err := h1.Run(ctx, "ip", "route", "del", subnet); err != nil {
		t.Fatalf("delete route: %v %s", err, out)
	}
	deleted := time.Now()
	c.Eventually("the route to h2's subnet is back on h1", 5*time.Second, func() error {
		out, err := h1.Run(ctx, "ip", "route", "show", subnet)
		if err != nil {
			return err
		}
		if !strings.Contains(out, subnet) {
			return fmt.Errorf("no route to %s", subnet)
		}
		return nil
	})
	t.Logf("route restored in %s", time.Since(deleted).Round(time.Millisecond))
	target := onHost(c, c.Running("hello", 6, 10*time.Second), h2)[0]
	if body, err := probe.fetch("http://" + target.GetIp() + ":8080/"); err != nil || hostname(body) != target.DisplayName() {
		t.Fatalf("h1 -> h2 after the repair: %q %v", body, err)
	}
}

// cutAndHeal checks that the harness's Cut isolates h2 and Heal undoes it.
func (s *overlaySuite) cutAndHeal(t *testing.T) {
	c, h1, h2 := s.c, s.h1, s.h2
	dial := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn, err := h1.DialContext(ctx, "tcp", h2.Addr.String()+":7402")
		if err == nil {
			conn.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatalf("h1 -> h2 before the cut: %v", err)
	}
	if err := h2.Cut(); err != nil {
		t.Fatal(err)
	}
	if err := dial(); err == nil {
		_ = h2.Heal()
		t.Fatal("h1 reached h2 through the cut")
	}
	if err := h2.Heal(); err != nil {
		t.Fatal(err)
	}
	c.Eventually("h1 reaches h2 again", 5*time.Second, dial)
	c.NodeState(h2, orchpb.NodeReady, 10*time.Second)
}

// lostNode kills h3's agent: its replicas are replaced elsewhere, DNS
// answers the replacements, and h3's agent removes the old containers
// when it comes back.
func (s *overlaySuite) lostNode(t *testing.T) {
	c, probe, h3 := s.c, s.probe, s.h3
	old := onHost(c, c.Running("hello", 6, 10*time.Second), h3)
	if len(old) == 0 {
		t.Fatal("no replica runs on h3: losing it would prove nothing")
	}
	if err := h3.Agent.Kill(); err != nil {
		t.Fatal(err)
	}
	c.NodeState(h3, orchpb.NodeDown, 30*time.Second)
	var now []*orchpb.Replica
	c.Eventually("6 replicas run again, none on h3", time.Minute, func() error {
		now = c.Running("hello", 6, time.Minute)
		if n := len(onHost(c, now, h3)); n > 0 {
			return fmt.Errorf("%d still on h3", n)
		}
		return nil
	})
	want := ipsOf(now)
	c.Eventually("DNS answers exactly the replacements", 2*dnsTTL, func() error {
		got, err := probe.resolve("hello")
		if err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("answers %v, want %v (lost: %v)", got, want, ipsOf(old))
		}
		return nil
	})
	meshCheck(t, c, now)
	// The host comes back: its agent removes the replicas it lost.
	if err := h3.Agent.Start(); err != nil {
		t.Fatal(err)
	}
	c.NodeState(h3, orchpb.NodeReady, 30*time.Second)
	c.Eventually("h3's old containers are stopped and removed from containerd", time.Minute, func() error {
		ids, err := c.Containers(h3)
		if err != nil {
			return err
		}
		for _, r := range old {
			if slices.Contains(ids, r.GetId()) {
				return fmt.Errorf("container %s (%s) still in containerd", r.GetId(), r.DisplayName())
			}
		}
		return nil
	})
}

// agentCleanup stops h3's agent and checks that orchd agent --cleanup
// removes its links, rules, routes and namespaces.
func (s *overlaySuite) agentCleanup(t *testing.T) {
	c, h3 := s.c, s.h3
	ctx := context.Background()
	if err := h3.Agent.Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	before, _ := h3.Run(ctx, "iptables-save")
	if !strings.Contains(before, "ORCH-MASQ-orch0") {
		t.Fatalf("no rules to clean up on h3: the check proves nothing\n%s", before)
	}
	if out, err := c.CleanupAgent(ctx, h3); err != nil {
		t.Fatalf("cleanup: %v\n%s", err, out)
	}
	links, _ := h3.Run(ctx, "ip", "-o", "link")
	for _, name := range []string{"orch0", "orchvx0", "ov"} {
		if strings.Contains(links, ": "+name) {
			t.Errorf("link %s* left on h3:\n%s", name, links)
		}
	}
	if rules, _ := h3.Run(ctx, "iptables-save"); strings.Contains(rules, "ORCH-") {
		t.Errorf("rules left on h3:\n%s", rules)
	}
	if routes, _ := h3.Run(ctx, "ip", "route"); strings.Contains(routes, "10.244.") {
		t.Errorf("overlay routes left on h3:\n%s", routes)
	}
	if left := c.ReplicaNamespaces(h3); len(left) > 0 {
		t.Errorf("replica namespaces left: %v", left)
	}
}

// step runs one acceptance step as a subtest; a failed step stops the rest,
// since they share the cluster.
func step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	if t.Failed() {
		t.Skipf("skipping %q: an earlier step failed", name)
	}
	start := time.Now()
	if !t.Run(name, fn) {
		t.FailNow()
	}
	t.Logf("step %q took %s", name, time.Since(start).Round(time.Millisecond))
}

// meshCheck has every replica fetch / from every other by address.
func meshCheck(t *testing.T, c *harness.Cluster, reps []*orchpb.Replica) {
	t.Helper()
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for _, from := range reps {
		api := replicaAPI{c.HostOf(from), from}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, to := range reps {
				if to.GetId() == from.GetId() {
					continue
				}
				body, err := api.fetch("http://" + to.GetIp() + ":8080/")
				if err == nil && hostname(body) != to.DisplayName() {
					err = fmt.Errorf("answered by %q", hostname(body))
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s -> %s: %v", from.DisplayName(), to.DisplayName(), err))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d paths failed:\n%s", len(failures), len(reps)*(len(reps)-1), strings.Join(failures, "\n"))
	}
}
