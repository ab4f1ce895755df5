package agent

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"

	"github.com/orch-io/orch/netoverlay/dns"
	orchpb "github.com/orch-io/orch/proto"
)

// nodeDNS is the node's DNS server on the overlay gateway and the table it
// answers from: fed by the masters' endpoint stream, saved in the data dir
// so that a restarted agent answers before any master does.
type nodeDNS struct {
	server *dns.Server
	dir    dataDir
	log    *slog.Logger
}

// newNodeDNS makes the server and fills its table from the saved one.
func newNodeDNS(cfg DNSConfig, gateway netip.Addr, clients netip.Prefix, dir dataDir, log *slog.Logger) *nodeDNS {
	ups, err := dns.Upstreams(cfg.ResolvConf, gateway)
	if err != nil {
		log.Warn("dns: no upstream resolvers; names outside the cluster will not resolve", "err", err)
	}
	d := &nodeDNS{
		server: dns.NewServer(dns.Config{Upstreams: ups, TTL: cfg.TTL, Clients: clients, Table: dns.NewTable(), Logger: log}),
		dir:    dir,
		log:    log,
	}
	if saved, err := dir.loadEndpoints(); err != nil {
		log.Warn("ignoring saved endpoints", "err", err)
	} else if saved != nil {
		d.apply(saved, false)
	}
	return d
}

// serve answers on addr until ctx ends. The bridge may be repaired under
// it, so a failed bind is retried.
func (d *nodeDNS) serve(ctx context.Context, addr string) {
	_, _ = retry(ctx, d.log, "serve DNS on "+addr, func() (struct{}, error) {
		err := d.server.ListenAndServe(ctx, addr)
		if ctx.Err() != nil {
			return struct{}{}, nil
		}
		if err == nil {
			err = errors.New("dns server stopped")
		}
		return struct{}{}, err
	})
}

// follow feeds the masters' endpoint stream into the table until ctx
// ends. While no master answers, the table keeps what it last had.
func (d *nodeDNS) follow(ctx context.Context, conn *masterConn, nodeID string) {
	followStream(ctx, d.log, "endpoint stream broken; DNS answers from what it has", func() error {
		return conn.watchEndpoints(ctx, nodeID, func(u *orchpb.EndpointUpdate) {
			d.apply(u, true)
		})
	})
}

// apply puts an update into the table, and saves the whole table when
// asked so a restarted agent answers before a master does.
func (d *nodeDNS) apply(u *orchpb.EndpointUpdate, save bool) {
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
	table := d.server.Table()
	if u.GetReset_() {
		table.Reset(eps)
	} else {
		table.Update(eps, u.GetDeleted())
	}
	d.log.Debug("dns: endpoints updated", "reset", u.GetReset_(), "put", len(eps), "deleted", len(u.GetDeleted()))
	if save {
		if err := d.dir.saveEndpoints(endpointsUpdate(table.Endpoints())); err != nil {
			d.log.Warn("could not save endpoints", "err", err)
		}
	}
}

// endpointsUpdate is the whole table as one update that resets it.
func endpointsUpdate(eps []dns.Endpoint) *orchpb.EndpointUpdate {
	all := &orchpb.EndpointUpdate{Reset_: true}
	for _, e := range eps {
		all.Put = append(all.Put, &orchpb.Endpoint{
			ReplicaId: e.ID, Namespace: e.Namespace, Service: e.Service, Slot: int32(e.Slot),
			Ip: e.IP.String(), State: string(healthState(e.Healthy)), Generation: e.Generation,
		})
	}
	return all
}

// healthState is the state a saved endpoint stands for: DNS serves only
// healthy replicas, so running or unhealthy is all it kept.
func healthState(healthy bool) orchpb.ReplicaState {
	if healthy {
		return orchpb.ReplicaRunning
	}
	return orchpb.ReplicaUnhealthy
}
