package iptables

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orch-io/orch/netoverlay/internal/nettest"
	"github.com/orch-io/orch/netoverlay/namespace"
)

var (
	cluster = netip.MustParsePrefix("10.77.0.0/16")
	subnet  = netip.MustParsePrefix("10.77.3.0/24")
)

func TestRender(t *testing.T) {
	c := ChainsFor("br9", "vx9")
	hp := []HostPort{
		{Protocol: "udp", HostPort: 53, IP: netip.MustParseAddr("10.77.3.4"), Port: 5353},
		{Protocol: "tcp", HostPort: 18080, IP: netip.MustParseAddr("10.77.3.2"), Port: 8080},
		{HostPort: 80, IP: netip.MustParseAddr("10.77.3.3"), Port: 8080},
	}
	tests := []struct {
		name      string
		rules     Rules
		want, not []string
	}{
		{
			name:  "masquerade on",
			rules: Rules{ClusterCIDR: cluster, Subnet: subnet, Masquerade: true},
			want: []string{
				"-A ORCH-FWD-br9 -s 10.77.0.0/16 -i br9 -j ACCEPT",
				"-A ORCH-FWD-br9 -d 10.77.0.0/16 -o br9 -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT",
				"-A ORCH-MASQ-br9 -s 10.77.0.0/16 -d 10.77.0.0/16 -j RETURN",
				"-A ORCH-MASQ-br9 -s 10.77.0.0/16 -j MASQUERADE",
				"-A ORCH-MASQ-br9 -s 10.77.3.0/24 -d 10.77.3.0/24 -m conntrack --ctstate DNAT -j MASQUERADE",
			},
		},
		{
			name:  "masquerade off",
			rules: Rules{ClusterCIDR: cluster, Subnet: subnet},
			not:   []string{"-A ORCH-MASQ-br9 -s 10.77.0.0/16 -j MASQUERADE", "-i vx9", "-A ORCH-VXLAN-vx9"},
		},
		{
			name: "overlay: vxlan from peers only, forwarding through the device",
			rules: Rules{ClusterCIDR: cluster, VXLANPort: 4789,
				Peers: []netip.Addr{netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("192.0.2.3"), netip.MustParseAddr("192.0.2.9")}},
			want: []string{
				"-A ORCH-FWD-br9 -s 10.77.0.0/16 -d 10.77.0.0/16 -i vx9 -o br9 -j ACCEPT",
				"-A ORCH-VXLAN-vx9 -s 192.0.2.3/32 -j ACCEPT\n-A ORCH-VXLAN-vx9 -s 192.0.2.9/32 -j ACCEPT\n-A ORCH-VXLAN-vx9 -j DROP\n",
			},
			not: []string{"-s 10.77.0.0/16 -j ACCEPT", "-d 10.77.0.0/16 -j ACCEPT"},
		},
		{
			name:  "host ports on the advertised address",
			rules: Rules{ClusterCIDR: cluster, HostPortAddr: netip.MustParseAddr("192.0.2.1"), HostPorts: hp[1:2]},
			want:  []string{"-A ORCH-HP-br9 -d 192.0.2.1/32 -p tcp -m tcp --dport 18080 -j DNAT --to-destination 10.77.3.2:8080"},
		},
		{
			name:  "host ports, sorted, tcp by default",
			rules: Rules{ClusterCIDR: cluster, HostPorts: hp},
			want: []string{
				"-A ORCH-HP-br9 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.77.3.3:8080\n" +
					"-A ORCH-HP-br9 -p tcp -m tcp --dport 18080 -j DNAT --to-destination 10.77.3.2:8080\n" +
					"-A ORCH-HP-br9 -p udp -m udp --dport 53 -j DNAT --to-destination 10.77.3.4:5353",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(Render(c, tt.rules))
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("unexpected %q in\n%s", n, got)
				}
			}
		})
	}
}

// inNamespace returns Tables that run iptables inside a network namespace
// made for the test, so nothing touches the machine's own rules.
func inNamespace(t *testing.T) (*Tables, string) {
	t.Helper()
	nettest.RequireRoot(t)
	for _, bin := range []string{"iptables", "iptables-save", "iptables-restore", "nsenter"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed", bin)
		}
	}
	path, _, err := namespace.Ensure(nettest.NetNSDir(t), "ipt")
	if err != nil {
		t.Fatal(err)
	}
	return New(ChainsFor("br9", "vx9"), "nsenter", "--net="+path, "--"), path
}

func save(t *testing.T, nsPath string) string {
	t.Helper()
	out, err := exec.Command("nsenter", "--net="+nsPath, "--", "iptables-save").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestSyncRepairsAndDeleteRemovesEverything(t *testing.T) {
	tables, nsPath := inNamespace(t)
	ctx := context.Background()
	rules := Rules{ClusterCIDR: cluster, Subnet: subnet, Masquerade: true, VXLANPort: 4789,
		Peers:     []netip.Addr{netip.MustParseAddr("192.0.2.3")},
		HostPorts: []HostPort{{Protocol: "tcp", HostPort: 18080, IP: netip.MustParseAddr("10.77.3.2"), Port: 8080}}}

	changed, err := tables.Sync(ctx, rules)
	if err != nil || !changed {
		t.Fatalf("first Sync = %v, %v; want a change", changed, err)
	}
	// Nothing to do costs one iptables-save per table and no other command:
	// Run does this every 2 s.
	cmdLog := filepath.Join(t.TempDir(), "commands")
	logged := New(ChainsFor("br9", "vx9"), "sh", "-c", `echo "$*" >>"$0" && exec "$@"`, cmdLog, "nsenter", "--net="+nsPath, "--")
	if changed, err := logged.Sync(ctx, rules); err != nil || changed {
		t.Fatalf("second Sync = %v, %v; want nothing to do", changed, err)
	}
	if ran, err := os.ReadFile(cmdLog); err != nil || strings.Count(string(ran), "\n") != 2 || strings.Count(string(ran), " iptables-save -t ") != 2 {
		t.Fatalf("a Sync with nothing to do ran:\n%s(%v); want only iptables-save -t filter and -t nat", ran, err)
	}
	got := save(t, nsPath)
	for _, w := range []string{
		"-A FORWARD -j ORCH-FWD-br9",
		"-A POSTROUTING -j ORCH-MASQ-br9",
		"-A PREROUTING -m addrtype --dst-type LOCAL -j ORCH-HP-br9",
		"-A INPUT -p udp -m udp --dport 4789 -j ORCH-VXLAN-vx9",
		"-A ORCH-VXLAN-vx9 -s 192.0.2.3/32 -j ACCEPT",
		"--to-destination 10.77.3.2:8080",
	} {
		if !strings.Contains(got, w) {
			t.Fatalf("missing %q in\n%s", w, got)
		}
	}

	// Drift: a rule and a jump removed by hand come back.
	for _, args := range [][]string{
		{"-t", "nat", "-F", "ORCH-HP-br9"},
		{"-t", "nat", "-D", "POSTROUTING", "-j", "ORCH-MASQ-br9"},
	} {
		if out, err := exec.Command("nsenter", append([]string{"--net=" + nsPath, "--", "iptables", "-w"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("iptables %v: %v %s", args, err, out)
		}
	}
	if changed, err := tables.Sync(ctx, rules); err != nil || !changed {
		t.Fatalf("repair Sync = %v, %v; want a change", changed, err)
	}
	got = save(t, nsPath)
	if !strings.Contains(got, "-A POSTROUTING -j ORCH-MASQ-br9") || !strings.Contains(got, "--to-destination 10.77.3.2:8080") {
		t.Fatalf("not repaired:\n%s", got)
	}
	if strings.Count(got, "-j ORCH-MASQ-br9") != 1 {
		t.Fatalf("jump duplicated:\n%s", got)
	}

	// A host port unpublished goes away.
	rules.HostPorts = nil
	if _, err := tables.Sync(ctx, rules); err != nil {
		t.Fatal(err)
	}
	if got := save(t, nsPath); strings.Contains(got, "-j DNAT") {
		t.Fatalf("DNAT left after unpublishing:\n%s", got)
	}

	if err := tables.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if left, err := tables.Present(ctx); err != nil || len(left) != 0 {
		t.Fatalf("after Delete: %v, %v", left, err)
	}
	if err := tables.Delete(ctx); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}
