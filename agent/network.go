package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"

	"github.com/orch-io/orch/netoverlay"
	"github.com/orch-io/orch/netoverlay/dns"
	orchpb "github.com/orch-io/orch/proto"
)

// startOverlay runs what a node with a full overlay adds to replica
// networking: the peer routes and iptables rules (Overlay.Run), the DNS
// server on the bridge gateway, and the endpoint stream feeding it. The
// goroutines end with ctx and are counted in a.wg.
func (a *Agent) startOverlay(ctx context.Context) {
	if a.overlay == nil {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.overlay.Run(ctx); err != nil {
			a.log.Error("overlay stopped", "err", err)
		}
	}()
	if a.cfg.DNS.Disabled {
		return
	}
	gw := a.overlay.Gateway()
	ups, err := dns.Upstreams(a.cfg.DNS.ResolvConf, gw)
	if err != nil {
		a.log.Warn("dns: no upstream resolvers; names outside the cluster will not resolve", "err", err)
	}
	a.dns = dns.NewServer(dns.Config{Upstreams: ups, TTL: a.cfg.DNS.TTL, Table: dns.NewTable(), Logger: a.log})
	if saved, err := a.loadEndpoints(); err != nil {
		a.log.Warn("ignoring saved endpoints", "err", err)
	} else if saved != nil {
		a.applyEndpoints(saved, false)
	}
	addr := net.JoinHostPort(gw.String(), strconv.Itoa(a.cfg.DNS.Port))
	a.wg.Add(2)
	go func() {
		defer a.wg.Done()
		// The bridge may be repaired under us; a failed bind is retried.
		_, _ = retry(ctx, a.log, "serve DNS on "+addr, func() (struct{}, error) {
			err := a.dns.ListenAndServe(ctx, addr)
			if ctx.Err() != nil {
				return struct{}{}, nil
			}
			if err == nil {
				err = errors.New("dns server stopped")
			}
			return struct{}{}, err
		})
	}()
	go func() { defer a.wg.Done(); a.runEndpoints(ctx) }()
}

// applyNetwork gives the overlay what an assignment set says about the
// network: the peer nodes and the host ports of this node's replicas.
func (a *Agent) applyNetwork(set *orchpb.AssignmentSet) {
	if a.overlay == nil {
		return
	}
	a.overlay.SetPeers(peersOf(set))
	a.overlay.SetHostPorts(hostPortsOf(set))
}

func peersOf(set *orchpb.AssignmentSet) []netoverlay.Peer {
	var peers []netoverlay.Peer
	for _, n := range set.GetPeers() {
		subnet, err1 := netip.ParsePrefix(n.GetSubnet())
		addr, err2 := netip.ParseAddr(n.GetAddress())
		if err1 != nil || err2 != nil || n.GetId() == set.GetNodeId() {
			continue
		}
		// A down node keeps its routes: it may only be cut off from the
		// masters, and its replicas are removed from DNS anyway.
		peers = append(peers, netoverlay.Peer{Name: n.GetName(), Subnet: subnet, Underlay: addr})
	}
	return peers
}

func hostPortsOf(set *orchpb.AssignmentSet) []netoverlay.HostPort {
	var out []netoverlay.HostPort
	for _, asg := range set.GetAssignments() {
		if asg.GetReplica().Desired() != orchpb.DesiredRunning {
			continue
		}
		for _, p := range asg.GetSpec().GetPorts() {
			if p.GetHostPort() <= 0 {
				continue
			}
			out = append(out, netoverlay.HostPort{
				ReplicaID: asg.GetReplica().GetId(),
				Protocol:  strings.ToLower(p.GetProtocol()),
				HostPort:  int(p.GetHostPort()),
				Port:      int(p.GetPort()),
			})
		}
	}
	return out
}

// runEndpoints follows the masters' endpoint stream into the DNS table until
// ctx ends. While no master answers, the table keeps what it last had.
func (a *Agent) runEndpoints(ctx context.Context) {
	a.followStream(ctx, "endpoint stream broken; DNS answers from what it has", func() error {
		return a.conn.watchEndpoints(ctx, a.id.NodeID, func(u *orchpb.EndpointUpdate) {
			a.applyEndpoints(u, true)
		})
	})
}

// applyEndpoints puts an update into the DNS table, and saves the whole
// table when asked so a restarted agent answers before a master does.
func (a *Agent) applyEndpoints(u *orchpb.EndpointUpdate, save bool) {
	if len(u.GetPut()) == 0 && len(u.GetDeleted()) == 0 && !u.GetReset_() {
		return // keepalive
	}
	eps := make([]dns.Endpoint, 0, len(u.GetPut()))
	for _, e := range u.GetPut() {
		ip, err := netip.ParseAddr(e.GetIp())
		if err != nil {
			continue
		}
		eps = append(eps, dns.Endpoint{
			ID:         e.GetReplicaId(),
			Namespace:  e.GetNamespace(),
			Service:    e.GetService(),
			Slot:       int(e.GetSlot()),
			IP:         ip,
			Healthy:    e.Observed() == orchpb.ReplicaRunning,
			Generation: e.GetGeneration(),
		})
	}
	table := a.dns.Table()
	if u.GetReset_() {
		table.Reset(eps)
	} else {
		table.Update(eps, u.GetDeleted())
	}
	a.log.Debug("dns: endpoints updated", "reset", u.GetReset_(), "put", len(eps), "deleted", len(u.GetDeleted()))
	if save {
		if err := a.saveEndpoints(table.Endpoints()); err != nil {
			a.log.Warn("could not save endpoints", "err", err)
		}
	}
}

func (a *Agent) saveEndpoints(eps []dns.Endpoint) error {
	all := &orchpb.EndpointUpdate{Reset_: true}
	for _, e := range eps {
		all.Put = append(all.Put, &orchpb.Endpoint{
			ReplicaId: e.ID, Namespace: e.Namespace, Service: e.Service, Slot: int32(e.Slot),
			Ip: e.IP.String(), State: string(healthState(e.Healthy)), Generation: e.Generation,
		})
	}
	data, err := proto.Marshal(all)
	if err != nil {
		return err
	}
	return writeAtomic(a.path("endpoints.pb"), data, 0o600)
}

func healthState(healthy bool) orchpb.ReplicaState {
	if healthy {
		return orchpb.ReplicaRunning
	}
	return orchpb.ReplicaUnhealthy
}

func (a *Agent) loadEndpoints() (*orchpb.EndpointUpdate, error) {
	data, err := os.ReadFile(a.path("endpoints.pb"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agent: read saved endpoints: %w", err)
	}
	var u orchpb.EndpointUpdate
	if err := proto.Unmarshal(data, &u); err != nil {
		return nil, fmt.Errorf("agent: parse saved endpoints: %w", err)
	}
	u.Reset_ = true
	return &u, nil
}

// replicaEtcDir holds a replica's resolv.conf and hosts.
func (a *Agent) replicaEtcDir(replicaID string) string {
	return filepath.Join(a.cfg.DataDir, "replicas", replicaID+".etc")
}

// replicaMounts writes the replica's /etc/resolv.conf (pointing at the
// node's DNS server) and /etc/hosts, and returns the bind mounts that put
// them in the container. Without the node's DNS server the image's own
// files are left.
func (a *Agent) replicaMounts(rep *orchpb.Replica, ip netip.Addr) ([]specs.Mount, error) {
	if a.dns == nil || a.overlay == nil {
		return nil, nil
	}
	dir := a.replicaEtcDir(rep.GetId())
	files := map[string][]byte{
		"resolv.conf": dns.ResolvConf(a.overlay.Gateway(), rep.GetNamespace(), ""),
		"hosts":       dns.Hosts(ip, rep.DisplayName(), dns.SlotName(int(rep.GetSlot()), rep.GetService(), rep.GetNamespace(), "")),
	}
	var mounts []specs.Mount
	for _, name := range []string{"resolv.conf", "hosts"} {
		path := filepath.Join(dir, name)
		if err := writeAtomic(path, files[name], 0o644); err != nil {
			return nil, err
		}
		mounts = append(mounts, specs.Mount{Destination: "/etc/" + name, Type: "bind", Source: path, Options: []string{"rbind", "ro"}})
	}
	return mounts, nil
}

// makeNetwork builds the node's network: the overlay when one is
// configured, else the plain Network.
func (a *Agent) makeNetwork(subnet netip.Prefix) error {
	if a.cfg.Overlay == nil {
		n, err := a.cfg.Network(subnet)
		if err != nil {
			return fmt.Errorf("agent: network for %s: %w", subnet, err)
		}
		a.net = n
		return nil
	}
	cidr, err := netip.ParsePrefix(a.id.ClusterCIDR)
	if err != nil {
		return fmt.Errorf("agent: cluster CIDR %q: %w", a.id.ClusterCIDR, err)
	}
	ov, err := a.cfg.Overlay(subnet, cidr)
	if err != nil {
		return fmt.Errorf("agent: overlay for %s: %w", subnet, err)
	}
	a.net, a.overlay = ov, ov
	return nil
}
