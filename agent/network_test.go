package agent

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/orch-io/orch/netoverlay"
	"github.com/orch-io/orch/netoverlay/dns"
	orchpb "github.com/orch-io/orch/proto"
)

func TestPeersOfSkipsSelfAndUnroutable(t *testing.T) {
	set := &orchpb.AssignmentSet{NodeId: "me", Peers: []*orchpb.Node{
		{Id: "me", Name: "self", Address: "192.168.0.1", Subnet: "10.244.0.0/24"},
		{Id: "a", Name: "a", Address: "192.168.0.2", Subnet: "10.244.1.0/24", State: string(orchpb.NodeReady)},
		{Id: "b", Name: "b", Address: "192.168.0.3", Subnet: "10.244.2.0/24", State: string(orchpb.NodeDown)},
		{Id: "c", Name: "no-subnet", Address: "192.168.0.4"},
		{Id: "d", Name: "bad-address", Address: "host.example", Subnet: "10.244.3.0/24"},
	}}
	got := peersOf(set)
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	// A down node keeps its route: it may only be cut off from the masters.
	if want := []string{"a", "b"}; !slices.Equal(names, want) {
		t.Fatalf("peers %v, want %v", names, want)
	}
	if got[0].Subnet != netip.MustParsePrefix("10.244.1.0/24") || got[0].Underlay != netip.MustParseAddr("192.168.0.2") {
		t.Fatalf("peer a = %+v", got[0])
	}
}

func TestHostPortsOf(t *testing.T) {
	asg := func(id, desired string, ports ...*orchpb.Port) *orchpb.Assignment {
		return &orchpb.Assignment{Replica: &orchpb.Replica{Id: id, DesiredState: desired}, Spec: &orchpb.ServiceSpec{Ports: ports}}
	}
	set := &orchpb.AssignmentSet{Assignments: []*orchpb.Assignment{
		asg("r1", string(orchpb.DesiredRunning), &orchpb.Port{Port: 8080, HostPort: 18080, Protocol: "TCP"}, &orchpb.Port{Port: 9090}),
		asg("r2", string(orchpb.DesiredRunning), &orchpb.Port{Port: 53, HostPort: 5353, Protocol: "udp"}),
		asg("r3", string(orchpb.DesiredStopped), &orchpb.Port{Port: 8080, HostPort: 18081}),
	}}
	got := hostPortsOf(set)
	want := []netoverlay.HostPort{
		{ReplicaID: "r1", Protocol: "tcp", HostPort: 18080, Port: 8080},
		{ReplicaID: "r2", Protocol: "udp", HostPort: 5353, Port: 53},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("host ports %+v, want %+v", got, want)
	}
}

func newTestDNS(dir dataDir) *nodeDNS {
	return &nodeDNS{
		server: dns.NewServer(dns.Config{Logger: slog.New(slog.DiscardHandler)}),
		dir:    dir,
		log:    slog.New(slog.DiscardHandler),
	}
}

func TestEndpointUpdatesFeedTheTableAndSurviveRestart(t *testing.T) {
	a := newTestDNS(dataDir(t.TempDir()))
	ep := func(id, ip, state string, slot int32) *orchpb.Endpoint {
		return &orchpb.Endpoint{ReplicaId: id, Namespace: "default", Service: "hello", Slot: slot, Ip: ip, State: state}
	}
	a.apply(&orchpb.EndpointUpdate{Reset_: true, Put: []*orchpb.Endpoint{
		ep("a", "10.244.0.2", string(orchpb.ReplicaRunning), 1),
		ep("b", "10.244.1.2", string(orchpb.ReplicaRunning), 2),
		ep("c", "10.244.2.2", string(orchpb.ReplicaUnhealthy), 3),
	}}, true)
	a.apply(&orchpb.EndpointUpdate{Put: []*orchpb.Endpoint{ep("b", "10.244.1.2", string(orchpb.ReplicaUnhealthy), 2)}, Deleted: []string{"a"}}, true)
	a.apply(&orchpb.EndpointUpdate{}, true) // keepalive: nothing changes

	ips, _ := a.server.Table().Service("default", "hello")
	if len(ips) != 0 {
		t.Fatalf("healthy addresses %v, want none (a gone, b and c unhealthy)", ips)
	}
	if ip, ok := a.server.Table().Slot("default", "hello", 3); !ok || ip.String() != "10.244.2.2" {
		t.Fatalf("slot 3 = %v %v", ip, ok)
	}

	// A restarted agent answers from the saved table before any master.
	b := newTestDNS(a.dir)
	saved, err := b.dir.loadEndpoints()
	if err != nil || saved == nil {
		t.Fatalf("loadEndpoints = %v, %v", saved, err)
	}
	b.apply(saved, false)
	if got, want := b.server.Table().Endpoints(), a.server.Table().Endpoints(); !slices.Equal(got, want) {
		t.Fatalf("restored table %+v, want %+v", got, want)
	}
}

func TestReplicaMountsWriteResolvConfAndHosts(t *testing.T) {
	files := replicaFiles{dir: dataDir(t.TempDir())}
	if m, err := files.mounts(&orchpb.Replica{Id: "x"}, netip.Addr{}); err != nil || m != nil {
		t.Fatalf("without DNS: %v, %v; want no mounts", m, err)
	}
	files.dnsGateway = netip.MustParseAddr("10.244.3.1")
	rep := &orchpb.Replica{Id: "r1", Namespace: "shop", Service: "web", Slot: 2}
	mounts, err := files.mounts(rep, netip.MustParseAddr("10.244.3.7"))
	if err != nil {
		t.Fatal(err)
	}
	byDest := map[string]string{}
	for _, m := range mounts {
		byDest[m.Destination] = m.Source
		if !slices.Contains(m.Options, "ro") {
			t.Errorf("%s mounted writable", m.Destination)
		}
	}
	resolv, _ := os.ReadFile(byDest["/etc/resolv.conf"])
	hosts, _ := os.ReadFile(byDest["/etc/hosts"])
	if !strings.Contains(string(resolv), "nameserver 10.244.3.1\n") || !strings.Contains(string(resolv), "search shop.orch orch\n") {
		t.Fatalf("resolv.conf:\n%s", resolv)
	}
	if !strings.Contains(string(hosts), "10.244.3.7\tweb.2 2.web.shop.orch") {
		t.Fatalf("hosts:\n%s", hosts)
	}
	if filepath.Dir(byDest["/etc/hosts"]) != files.dir.replicaEtc("r1") {
		t.Fatalf("files in %s, want %s", filepath.Dir(byDest["/etc/hosts"]), files.dir.replicaEtc("r1"))
	}
}
