package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Host is one machine of the cluster: a network namespace with an
// underlay address, running an agent (and on the first host, the master).
type Host struct {
	c      *Cluster
	Index  int
	Name   string
	Addr   netip.Addr // on the underlay
	NSPath string
	Dir    string // data dirs and files of this host
	port   string // its port on the underlay bridge
	Master *Proc  // nil except on the master's host
	Agent  *Proc
}

// DialContext connects from inside the host, as a process on it would.
func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return dialIn(ctx, h.NSPath, network, addr)
}

// Listen opens a listener inside the host.
func (h *Host) Listen(network, addr string) (net.Listener, error) {
	return listenIn(h.NSPath, network, addr)
}

// ListenPacket opens a packet socket inside the host.
func (h *Host) ListenPacket(network, addr string) (net.PacketConn, error) {
	return listenPacketIn(h.NSPath, network, addr)
}

// HTTP is a client whose every connection starts inside the host; no
// connection is reused, so every request sees the network as it is now.
func (h *Host) HTTP(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: h.DialContext, DisableKeepAlives: true}}
}

func (h *Host) tlsHTTPClient(caPEM string) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(caPEM))
	return &http.Client{Transport: &http.Transport{
		DialContext:     h.DialContext,
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
}

// Get fetches url from inside the host and returns the body of a 2xx
// answer.
func (h *Host) Get(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := h.HTTP(10 * time.Second).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode/100 != 2 {
		return string(body), fmt.Errorf("GET %s from %s: %s: %s", url, h.Name, resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

// Run runs a command (ip, iptables, ...) inside the host.
func (h *Host) Run(ctx context.Context, args ...string) (string, error) {
	return runIn(ctx, h.NSPath, args...)
}

// Cut unplugs the host from the underlay: nothing reaches it or leaves it.
func (h *Host) Cut() error { return setPort(h.c.underlay, h.port, false) }

// Heal plugs the host back in.
func (h *Host) Heal() error { return setPort(h.c.underlay, h.port, true) }

// ContainerdNamespace is where the host's agent keeps its containers.
func (h *Host) ContainerdNamespace() string { return h.c.nsName(h.Name) }
