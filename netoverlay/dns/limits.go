package dns

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Defaults for the forwarding limit: far above what a node's replicas ask
// of names outside the cluster, far below what makes the node a useful
// amplifier or lets one replica exhaust the upstreams for the others.
const (
	DefaultForwardRate  = 200 // queries per second
	DefaultForwardBurst = 400
)

// allowed reports whether a query from addr may be answered: the server
// answers its node's replicas, not whoever reaches the gateway address.
func (s *Server) allowed(addr net.Addr) bool {
	if !s.cfg.Clients.IsValid() {
		return true
	}
	var ip netip.Addr
	switch a := addr.(type) {
	case *net.UDPAddr:
		ip = a.AddrPort().Addr()
	case *net.TCPAddr:
		ip = a.AddrPort().Addr()
	}
	return ip.IsValid() && s.cfg.Clients.Contains(ip.Unmap())
}

// bucket is a token bucket: rate tokens a second, at most burst saved.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newBucket(rate float64, burst int) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), now: time.Now}
}

// take spends a token, or reports that none is left.
func (b *bucket) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
