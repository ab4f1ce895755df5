package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"
)

// Defaults for the zero values of Config.
const (
	DefaultDomain = "orch."
	// DefaultTTL is short: a replica that fails its health check must leave
	// clients' caches within seconds.
	DefaultTTL            = 5 * time.Second
	DefaultForwardTimeout = 2 * time.Second
)

// Config configures a Server.
type Config struct {
	// Domain the server is authoritative for (default "orch.").
	Domain string
	TTL    time.Duration
	// Upstreams are the node's own resolvers (HOST:PORT), asked in turn for
	// every name outside Domain.
	Upstreams      []string
	ForwardTimeout time.Duration
	// Clients, when set, are the addresses queries are answered for (the
	// node's subnet: its replicas); anyone else is answered REFUSED.
	Clients netip.Prefix
	// ForwardRate (queries a second) and ForwardBurst limit what is
	// forwarded upstream (defaults DefaultForwardRate and
	// DefaultForwardBurst); a query past the limit is answered REFUSED.
	ForwardRate  float64
	ForwardBurst int
	Table        *Table
	Logger       *slog.Logger
}

// Server answers DNS queries from a Table and forwards the rest.
type Server struct {
	cfg    Config
	domain string
	ttl    uint32
	log    *slog.Logger

	forwards *bucket

	queries, forwarded, failures, refused atomic.Uint64
}

// NewServer returns a server for cfg; Serve or ListenAndServe runs it.
func NewServer(cfg Config) *Server {
	if cfg.Domain == "" {
		cfg.Domain = DefaultDomain
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.ForwardTimeout <= 0 {
		cfg.ForwardTimeout = DefaultForwardTimeout
	}
	if cfg.ForwardRate <= 0 {
		cfg.ForwardRate = DefaultForwardRate
	}
	if cfg.ForwardBurst <= 0 {
		cfg.ForwardBurst = DefaultForwardBurst
	}
	if cfg.Table == nil {
		cfg.Table = NewTable()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{
		cfg:      cfg,
		domain:   mdns.CanonicalName(cfg.Domain),
		ttl:      uint32(max(cfg.TTL/time.Second, 1)),
		log:      cfg.Logger.With("component", "dns"),
		forwards: newBucket(cfg.ForwardRate, cfg.ForwardBurst),
	}
}

// Table is the table the server answers from.
func (s *Server) Table() *Table { return s.cfg.Table }

// Stats are counters since the server started. Refused counts queries
// from outside Clients and forwards past the rate limit.
type Stats struct{ Queries, Forwarded, Failures, Refused uint64 }

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{s.queries.Load(), s.forwarded.Load(), s.failures.Load(), s.refused.Load()}
}

// ListenAndServe serves UDP and TCP on addr (IP:PORT) until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("dns: listen udp %s: %w", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		pc.Close()
		return fmt.Errorf("dns: listen tcp %s: %w", addr, err)
	}
	return s.Serve(ctx, pc, ln)
}

// Serve answers queries on pc (UDP) and ln (TCP) until ctx ends, then closes
// both. Either may be nil.
func (s *Server) Serve(ctx context.Context, pc net.PacketConn, ln net.Listener) error {
	var servers []*mdns.Server
	errc := make(chan error, 2)
	if pc != nil {
		servers = append(servers, &mdns.Server{PacketConn: pc, Handler: s, UDPSize: mdns.DefaultMsgSize})
	}
	if ln != nil {
		servers = append(servers, &mdns.Server{Listener: ln, Handler: s})
	}
	for _, srv := range servers {
		go func() { errc <- srv.ActivateAndServe() }()
	}
	s.log.Info("dns: serving", "domain", s.domain, "upstreams", s.cfg.Upstreams)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	for _, srv := range servers {
		_ = srv.Shutdown()
	}
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	return nil
}

// ServeDNS answers one query.
func (s *Server) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) {
	s.queries.Add(1)
	var resp *mdns.Msg
	switch {
	case !s.allowed(w.RemoteAddr()):
		resp = s.refuse(r)
	case len(r.Question) != 1 || r.Opcode != mdns.OpcodeQuery:
		resp = new(mdns.Msg)
		resp.SetRcode(r, mdns.RcodeNotImplemented)
	case mdns.IsSubDomain(s.domain, mdns.CanonicalName(r.Question[0].Name)):
		resp = s.answer(r)
	case !s.forwards.take():
		resp = s.refuse(r)
	default:
		resp = s.forward(r, w.RemoteAddr().Network())
	}
	if w.RemoteAddr().Network() == "udp" {
		// An answer fetched over TCP may not fit the client's datagram: it
		// gets the truncated form and asks again over TCP.
		size := mdns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = max(int(opt.UDPSize()), mdns.MinMsgSize)
		}
		resp.Truncate(size)
	}
	if err := w.WriteMsg(resp); err != nil {
		s.log.Debug("dns: write answer", "err", err)
	}
}

func (s *Server) refuse(r *mdns.Msg) *mdns.Msg {
	s.refused.Add(1)
	resp := new(mdns.Msg)
	resp.SetRcode(r, mdns.RcodeRefused)
	return resp
}

// answer is the authoritative answer for a name in the domain.
func (s *Server) answer(r *mdns.Msg) *mdns.Msg {
	q := r.Question[0]
	resp := new(mdns.Msg)
	resp.SetReply(r)
	resp.Authoritative = true
	resp.RecursionAvailable = true
	name := mdns.CanonicalName(q.Name)
	ips, exists := s.lookup(name)
	switch {
	case !exists:
		resp.Rcode = mdns.RcodeNameError
	case q.Qtype == mdns.TypeA || q.Qtype == mdns.TypeANY:
		// A random order spreads clients that take the first address.
		rand.Shuffle(len(ips), func(i, j int) { ips[i], ips[j] = ips[j], ips[i] })
		for _, ip := range ips {
			resp.Answer = append(resp.Answer, &mdns.A{
				Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: s.ttl},
				A:   net.IP(ip.AsSlice()),
			})
		}
	case q.Qtype == mdns.TypeSOA && name == s.domain:
		resp.Answer = append(resp.Answer, s.soa())
	}
	if len(resp.Answer) == 0 {
		resp.Ns = append(resp.Ns, s.soa())
	}
	return resp
}

// lookup resolves a canonical name in the domain. The apex exists (with no
// addresses); SERVICE.NAMESPACE and SLOT.SERVICE.NAMESPACE are looked up.
func (s *Server) lookup(name string) ([]netip.Addr, bool) {
	if name == s.domain {
		return nil, true
	}
	rel := strings.TrimSuffix(strings.TrimSuffix(name, s.domain), ".")
	labels := strings.Split(rel, ".")
	switch len(labels) {
	case 1:
		// A lone label (a namespace) has no records of its own.
		return nil, false
	case 2:
		return s.cfg.Table.Service(labels[1], labels[0])
	case 3:
		slot, err := strconv.Atoi(labels[0])
		if err != nil || slot < 1 {
			return nil, false
		}
		ip, ok := s.cfg.Table.Slot(labels[2], labels[1], slot)
		if !ok {
			return nil, false
		}
		return []netip.Addr{ip}, true
	}
	return nil, false
}

func (s *Server) soa() mdns.RR {
	return &mdns.SOA{
		Hdr:     mdns.RR_Header{Name: s.domain, Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: s.ttl},
		Ns:      "ns.dns." + s.domain,
		Mbox:    "hostmaster." + s.domain,
		Serial:  1,
		Refresh: 7200,
		Retry:   1800,
		Expire:  86400,
		// The negative-caching TTL: a name that does not exist yet may
		// exist in a moment.
		Minttl: s.ttl,
	}
}

// forward asks the upstreams in turn, over the transport the query came on
// (and again over TCP when a UDP answer is truncated).
func (s *Server) forward(r *mdns.Msg, network string) *mdns.Msg {
	s.forwarded.Add(1)
	proto := "udp"
	if strings.HasPrefix(network, "tcp") {
		proto = "tcp"
	}
	var lastErr error
	for _, up := range s.cfg.Upstreams {
		resp, err := s.exchange(r, up, proto)
		if err == nil && resp.Truncated && proto == "udp" {
			resp, err = s.exchange(r, up, "tcp")
		}
		if err == nil {
			return resp
		}
		lastErr = err
	}
	s.failures.Add(1)
	if lastErr == nil {
		lastErr = errors.New("no upstream resolvers")
	}
	s.log.Debug("dns: forward failed", "name", r.Question[0].Name, "err", lastErr)
	resp := new(mdns.Msg)
	resp.SetRcode(r, mdns.RcodeServerFailure)
	return resp
}

func (s *Server) exchange(r *mdns.Msg, upstream, proto string) (*mdns.Msg, error) {
	c := &mdns.Client{Net: proto, Timeout: s.cfg.ForwardTimeout, UDPSize: mdns.DefaultMsgSize}
	resp, _, err := c.Exchange(r, upstream)
	if err != nil {
		return nil, fmt.Errorf("dns: forward to %s over %s: %w", upstream, proto, err)
	}
	return resp, nil
}
