package dns

import (
	"log/slog"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// A query from outside the node's subnet is refused, names in the cluster
// included; from inside it is answered.
func TestServerRefusesOutsideClients(t *testing.T) {
	tb := NewTable()
	tb.Reset([]Endpoint{ep("a", "hello", 1, "10.1.0.2", true, 1)})
	for _, tt := range []struct {
		clients string
		rcode   int
	}{
		{"10.244.9.0/24", mdns.RcodeRefused},
		{"127.0.0.0/8", mdns.RcodeSuccess},
	} {
		srv := NewServer(Config{Table: tb, Clients: netip.MustParsePrefix(tt.clients), Logger: slog.New(slog.DiscardHandler)})
		addr := serve(t, srv)
		for _, name := range []string{"hello.default.orch.", "www.example.test."} {
			resp := query(t, addr, name, mdns.TypeA)
			want := tt.rcode
			if want == mdns.RcodeSuccess && name == "www.example.test." {
				want = mdns.RcodeServerFailure // answered, with no upstream
			}
			if resp.Rcode != want {
				t.Errorf("clients %s, %s: rcode %s, want %s", tt.clients, name, mdns.RcodeToString[resp.Rcode], mdns.RcodeToString[want])
			}
		}
		if tt.rcode == mdns.RcodeRefused && srv.Stats().Refused != 2 {
			t.Errorf("clients %s: %+v, want 2 refused", tt.clients, srv.Stats())
		}
	}
}

// Forwarding past the burst is refused until tokens come back; names in
// the cluster are answered throughout.
func TestServerRateLimitsForwarding(t *testing.T) {
	srv := NewServer(Config{Upstreams: []string{upstream(t)}, ForwardRate: 0.001, ForwardBurst: 3, Logger: slog.New(slog.DiscardHandler)})
	var clock atomic.Int64 // seconds; the server reads it on its goroutines
	clock.Store(1000)
	srv.forwards.now = func() time.Time { return time.Unix(clock.Load(), 0) }
	addr := serve(t, srv)
	for i := range 5 {
		resp := query(t, addr, "www.example.test.", mdns.TypeA)
		want := mdns.RcodeSuccess
		if i >= 3 {
			want = mdns.RcodeRefused
		}
		if resp.Rcode != want {
			t.Fatalf("forward %d: rcode %s, want %s", i+1, mdns.RcodeToString[resp.Rcode], mdns.RcodeToString[want])
		}
	}
	if resp := query(t, addr, "orch.", mdns.TypeSOA); resp.Rcode != mdns.RcodeSuccess {
		t.Fatalf("the cluster's own names refused past the forward limit: %s", mdns.RcodeToString[resp.Rcode])
	}
	clock.Add(1000) // one token at 0.001/s
	if resp := query(t, addr, "www.example.test.", mdns.TypeA); resp.Rcode != mdns.RcodeSuccess {
		t.Fatalf("after the bucket refilled: rcode %s", mdns.RcodeToString[resp.Rcode])
	}
	if st := srv.Stats(); st.Refused != 2 || st.Forwarded != 4 {
		t.Fatalf("stats %+v, want 2 refused and 4 forwarded", st)
	}
}
