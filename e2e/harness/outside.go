package harness

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	mdns "github.com/miekg/dns"

	orchpb "github.com/orch-io/orch/proto"
)

// ServeOutsideZone answers DNS for zone on the outside address (port 53,
// UDP and TCP): the resolver every agent is told is its node's own. Names
// in records get their A record; other names in the zone are NXDOMAIN, and
// names outside it are refused. It stops when the test ends.
func (c *Cluster) ServeOutsideZone(zone string, records map[string]netip.Addr) {
	c.t.Helper()
	zone = mdns.Fqdn(zone)
	h := mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		name := mdns.CanonicalName(q.Name)
		switch ip, ok := records[name]; {
		case !mdns.IsSubDomain(zone, name):
			m.Rcode = mdns.RcodeRefused
		case !ok:
			m.Rcode = mdns.RcodeNameError
		case q.Qtype == mdns.TypeA:
			m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 30}, A: net.IP(ip.AsSlice())})
		}
		_ = w.WriteMsg(m)
	})
	addr := netip.AddrPortFrom(OutsideAddr, 53).String()
	pc, err := listenPacketIn(c.outside, "udp", addr)
	if err != nil {
		c.t.Fatalf("outside DNS: %v", err)
	}
	ln, err := listenIn(c.outside, "tcp", addr)
	if err != nil {
		pc.Close()
		c.t.Fatalf("outside DNS: %v", err)
	}
	u := &mdns.Server{PacketConn: pc, Handler: h}
	tc := &mdns.Server{Listener: ln, Handler: h}
	go func() { _ = u.ActivateAndServe() }()
	go func() { _ = tc.ActivateAndServe() }()
	c.t.Cleanup(func() { _ = u.Shutdown(); _ = tc.Shutdown() })
}

// ReplicaNetNS returns a path to the network namespace of a replica's
// running task (/proc/PID/ns/net), for sockets opened inside the replica.
func (c *Cluster) ReplicaNetNS(r *orchpb.Replica) (string, error) {
	h := c.HostOf(r)
	cl, err := containerd.New(c.containerd.Socket())
	if err != nil {
		return "", err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = namespaces.WithNamespace(ctx, h.ContainerdNamespace())
	ctr, err := cl.LoadContainer(ctx, r.GetId())
	if err != nil {
		return "", fmt.Errorf("replica %s: %w", r.DisplayName(), err)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("replica %s: task: %w", r.DisplayName(), err)
	}
	return "/proc/" + strconv.Itoa(int(task.Pid())) + "/ns/net", nil
}

// DialFrom connects from inside the network namespace at nsPath (a
// replica's, from ReplicaNetNS).
func DialFrom(ctx context.Context, nsPath, network, addr string) (net.Conn, error) {
	return dialIn(ctx, nsPath, network, addr)
}

// ListenIn opens a listener inside the network namespace at nsPath.
func ListenIn(nsPath, network, addr string) (net.Listener, error) {
	return listenIn(nsPath, network, addr)
}
