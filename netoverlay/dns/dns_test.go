package dns

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

func ep(id, svc string, slot int, ip string, healthy bool, gen uint64) Endpoint {
	return Endpoint{ID: id, Namespace: "default", Service: svc, Slot: slot, IP: netip.MustParseAddr(ip), Healthy: healthy, Generation: gen}
}

func TestTableServiceAndSlot(t *testing.T) {
	tb := NewTable()
	tb.Reset([]Endpoint{
		ep("a", "hello", 1, "10.1.0.2", true, 1),
		ep("b", "hello", 2, "10.1.1.2", true, 1),
		ep("c", "hello", 3, "10.1.2.2", false, 1),
		ep("d", "other", 1, "10.1.0.9", true, 1),
	})
	ips, ok := tb.Service("default", "hello")
	if !ok || !slices.Equal(ips, addrs("10.1.0.2", "10.1.1.2")) {
		t.Fatalf("Service(hello) = %v, %v; want the two healthy ones", ips, ok)
	}
	if ip, ok := tb.Slot("default", "hello", 3); !ok || ip.String() != "10.1.2.2" {
		t.Fatalf("Slot(3) = %v, %v; an unhealthy replica still answers its slot name", ip, ok)
	}
	if _, ok := tb.Slot("default", "hello", 4); ok {
		t.Fatal("Slot(4) found")
	}
	if _, ok := tb.Service("other-ns", "hello"); ok {
		t.Fatal("found hello in another namespace")
	}

	// Rolling update: slot 1 gets a new replica; while it is unhealthy the
	// old one answers, once healthy the new one does.
	tb.Update([]Endpoint{ep("a2", "hello", 1, "10.1.0.3", false, 2)}, nil)
	if ip, _ := tb.Slot("default", "hello", 1); ip.String() != "10.1.0.2" {
		t.Fatalf("Slot(1) during the update = %v, want the healthy old one", ip)
	}
	tb.Update([]Endpoint{ep("a2", "hello", 1, "10.1.0.3", true, 2)}, []string{"a"})
	if ip, _ := tb.Slot("default", "hello", 1); ip.String() != "10.1.0.3" {
		t.Fatalf("Slot(1) after the update = %v, want the new one", ip)
	}

	// The last endpoint of a service leaves: the name goes.
	tb.Update(nil, []string{"d"})
	if _, ok := tb.Service("default", "other"); ok {
		t.Fatal("other still exists with no endpoints")
	}
	// A healthy replica turning unhealthy leaves the service answer.
	tb.Update([]Endpoint{ep("b", "hello", 2, "10.1.1.2", false, 1)}, nil)
	if ips, _ := tb.Service("default", "hello"); !slices.Equal(ips, addrs("10.1.0.3")) {
		t.Fatalf("Service(hello) = %v after b turned unhealthy", ips)
	}
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

// serve starts s on a loopback UDP and TCP port and returns the address.
func serve(t *testing.T, h mdns.Handler) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Skipf("tcp port of %s taken: %v", pc.LocalAddr(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if srv, ok := h.(*Server); ok {
			_ = srv.Serve(ctx, pc, ln)
			return
		}
		u := &mdns.Server{PacketConn: pc, Handler: h}
		tc := &mdns.Server{Listener: ln, Handler: h}
		go func() { _ = u.ActivateAndServe() }()
		go func() { _ = tc.ActivateAndServe() }()
		<-ctx.Done()
		_ = u.Shutdown()
		_ = tc.Shutdown()
	}()
	t.Cleanup(func() { cancel(); <-done })
	return pc.LocalAddr().String()
}

// upstream is a small authoritative server for the zone example.test.
func upstream(t *testing.T) string {
	return serve(t, mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		switch {
		case q.Name == "www.example.test." && q.Qtype == mdns.TypeA:
			m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60}, A: net.ParseIP("192.0.2.7")})
		case q.Name == "big.example.test." && q.Qtype == mdns.TypeTXT:
			for i := range 40 {
				m.Answer = append(m.Answer, &mdns.TXT{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeTXT, Class: mdns.ClassINET, Ttl: 60}, Txt: []string{strings.Repeat("x", 50) + string(rune('a'+i%26))}})
			}
			if w.RemoteAddr().Network() == "udp" {
				m.Truncated = true
				m.Answer = m.Answer[:1]
			}
		default:
			m.Rcode = mdns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	}))
}

func query(t *testing.T, server, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	c := &mdns.Client{Timeout: 3 * time.Second}
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	resp, _, err := c.Exchange(m, server)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	return resp
}

func answerIPs(m *mdns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		if a, ok := rr.(*mdns.A); ok {
			out = append(out, a.A.String())
		}
	}
	slices.Sort(out)
	return out
}

func TestServerAnswersAndForwards(t *testing.T) {
	tb := NewTable()
	tb.Reset([]Endpoint{
		ep("a", "hello", 1, "10.1.0.2", true, 1),
		ep("b", "hello", 2, "10.1.1.2", true, 1),
		ep("c", "hello", 3, "10.1.2.2", false, 1),
	})
	srv := NewServer(Config{Table: tb, Upstreams: []string{"127.0.0.1:1", upstream(t)}, ForwardTimeout: 500 * time.Millisecond, TTL: 3 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	addr := serve(t, srv)

	tests := []struct {
		name  string
		qtype uint16
		rcode int
		ips   []string
	}{
		{"hello.default.orch.", mdns.TypeA, mdns.RcodeSuccess, []string{"10.1.0.2", "10.1.1.2"}},
		{"HELLO.Default.ORCH.", mdns.TypeA, mdns.RcodeSuccess, []string{"10.1.0.2", "10.1.1.2"}},
		{"2.hello.default.orch.", mdns.TypeA, mdns.RcodeSuccess, []string{"10.1.1.2"}},
		{"3.hello.default.orch.", mdns.TypeA, mdns.RcodeSuccess, []string{"10.1.2.2"}},
		{"hello.default.orch.", mdns.TypeAAAA, mdns.RcodeSuccess, nil},
		{"9.hello.default.orch.", mdns.TypeA, mdns.RcodeNameError, nil},
		{"x.hello.default.orch.", mdns.TypeA, mdns.RcodeNameError, nil},
		{"nope.default.orch.", mdns.TypeA, mdns.RcodeNameError, nil},
		{"default.orch.", mdns.TypeA, mdns.RcodeNameError, nil},
		{"a.b.c.d.orch.", mdns.TypeA, mdns.RcodeNameError, nil},
		{"www.example.test.", mdns.TypeA, mdns.RcodeSuccess, []string{"192.0.2.7"}},
		{"nxdomain.example.test.", mdns.TypeA, mdns.RcodeNameError, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+mdns.TypeToString[tt.qtype], func(t *testing.T) {
			resp := query(t, addr, tt.name, tt.qtype)
			if resp.Rcode != tt.rcode {
				t.Fatalf("rcode = %s, want %s", mdns.RcodeToString[resp.Rcode], mdns.RcodeToString[tt.rcode])
			}
			if got := answerIPs(resp); !slices.Equal(got, tt.ips) {
				t.Fatalf("answers = %v, want %v", got, tt.ips)
			}
			if strings.HasSuffix(strings.ToLower(tt.name), "orch.") {
				if !resp.Authoritative {
					t.Fatal("not authoritative for .orch")
				}
				for _, rr := range resp.Answer {
					if rr.Header().Ttl != 3 {
						t.Fatalf("TTL = %d, want 3", rr.Header().Ttl)
					}
				}
				if len(resp.Answer) == 0 && len(resp.Ns) == 0 {
					t.Fatal("negative answer without SOA")
				}
			}
		})
	}

	// A truncated UDP answer is fetched again over TCP upstream, and handed
	// to a UDP client truncated to what it takes, so it asks over TCP.
	if small := query(t, addr, "big.example.test.", mdns.TypeTXT); !small.Truncated {
		t.Fatalf("UDP answer of %d records not truncated", len(small.Answer))
	}
	c := &mdns.Client{Net: "tcp", Timeout: 3 * time.Second}
	m := new(mdns.Msg)
	m.SetQuestion("big.example.test.", mdns.TypeTXT)
	big, _, err := c.Exchange(m, addr)
	if err != nil || big.Truncated || len(big.Answer) != 40 {
		t.Fatalf("big answer over TCP: %v, want 40 records", err)
	}

	// Replicas leave and come back: answers follow the table at once.
	tb.Update(nil, []string{"a"})
	if got := answerIPs(query(t, addr, "hello.default.orch.", mdns.TypeA)); !slices.Equal(got, []string{"10.1.1.2"}) {
		t.Fatalf("after a left: %v", got)
	}
	if st := srv.Stats(); st.Queries == 0 || st.Forwarded == 0 {
		t.Fatalf("stats not counted: %+v", st)
	}
}

func TestAnswersAreShuffled(t *testing.T) {
	tb := NewTable()
	var eps []Endpoint
	for i := range 6 {
		eps = append(eps, ep(string(rune('a'+i)), "hello", i+1, netip.AddrFrom4([4]byte{10, 1, byte(i), 2}).String(), true, 1))
	}
	tb.Reset(eps)
	addr := serve(t, NewServer(Config{Table: tb, Logger: slog.New(slog.DiscardHandler)}))
	firsts := map[string]bool{}
	for range 60 {
		resp := query(t, addr, "hello.default.orch.", mdns.TypeA)
		if len(resp.Answer) != 6 {
			t.Fatalf("%d answers, want 6", len(resp.Answer))
		}
		firsts[resp.Answer[0].(*mdns.A).A.String()] = true
	}
	if len(firsts) < 4 {
		t.Fatalf("first answer was one of only %d addresses over 60 queries: not spread", len(firsts))
	}
}

func TestServerWithoutUpstreamsFailsOutsideNames(t *testing.T) {
	addr := serve(t, NewServer(Config{Logger: slog.New(slog.DiscardHandler)}))
	if resp := query(t, addr, "www.example.test.", mdns.TypeA); resp.Rcode != mdns.RcodeServerFailure {
		t.Fatalf("rcode = %s, want SERVFAIL", mdns.RcodeToString[resp.Rcode])
	}
}

func TestFiles(t *testing.T) {
	rc := string(ResolvConf(netip.MustParseAddr("10.244.3.1"), "shop", ""))
	for _, w := range []string{"nameserver 10.244.3.1\n", "search shop.orch orch\n"} {
		if !strings.Contains(rc, w) {
			t.Fatalf("resolv.conf lacks %q:\n%s", w, rc)
		}
	}
	hosts := string(Hosts(netip.MustParseAddr("10.244.3.5"), "web.2", SlotName(2, "web", "shop", "")))
	if !strings.Contains(hosts, "10.244.3.5\tweb.2 2.web.shop.orch\n") || !strings.Contains(hosts, "127.0.0.1\tlocalhost") {
		t.Fatalf("hosts:\n%s", hosts)
	}

	path := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(path, []byte("nameserver 192.0.2.53\nnameserver 10.244.3.1\nsearch x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ups, err := Upstreams(path, netip.MustParseAddr("10.244.3.1"))
	if err != nil || !slices.Equal(ups, []string{"192.0.2.53:53"}) {
		t.Fatalf("Upstreams = %v, %v; want only the other server", ups, err)
	}
	if ups, err := Upstreams(filepath.Join(t.TempDir(), "missing"), netip.Addr{}); err != nil || ups != nil {
		t.Fatalf("missing file: %v, %v", ups, err)
	}
}
