package main

import (
	"net/netip"
	"testing"

	"github.com/spf13/cobra"
)

// A node advertising a loopback address (orchd dev, tests in the machine's
// own namespace) must not touch iptables, masquerade or VXLAN unless told.
func TestNetworkConfigLoopbackDefaults(t *testing.T) {
	subnet, cidr := netip.MustParsePrefix("10.199.3.0/24"), netip.MustParsePrefix("10.199.0.0/16")
	tests := []struct {
		name        string
		args        []string
		rules, masq bool
		underlay    string
	}{
		{"real node", []string{"--advertise-addr", "192.168.1.5"}, true, true, "192.168.1.5"},
		{"real node without masquerade", []string{"--advertise-addr", "192.168.1.5", "--masquerade=false"}, true, false, "192.168.1.5"},
		{"real node without iptables", []string{"--advertise-addr", "192.168.1.5", "--iptables=false"}, false, false, "192.168.1.5"},
		{"loopback", []string{"--advertise-addr", "127.0.0.1"}, false, false, ""},
		{"loopback, asked for", []string{"--advertise-addr", "127.0.0.1", "--iptables", "--masquerade"}, true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f agentFlags
			cmd := &cobra.Command{Use: "agent", RunE: func(*cobra.Command, []string) error { return nil }}
			f.register(cmd, true)
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			cfg := f.networkConfig(subnet, cidr)
			if got := cfg.ClusterCIDR.IsValid(); got != tt.rules {
				t.Errorf("iptables rules = %v, want %v", got, tt.rules)
			}
			if cfg.Masquerade != tt.masq {
				t.Errorf("masquerade = %v, want %v", cfg.Masquerade, tt.masq)
			}
			if got := cfg.Underlay.String(); (tt.underlay == "" && cfg.Underlay.IsValid()) || (tt.underlay != "" && got != tt.underlay) {
				t.Errorf("underlay = %s, want %q", cfg.Underlay, tt.underlay)
			}
			if cfg.HostPortAddr != cfg.Underlay {
				t.Errorf("host ports published on %s, want the advertised %s", cfg.HostPortAddr, cfg.Underlay)
			}
		})
	}
}

func TestCleanupNetworkConfigInstallsNothing(t *testing.T) {
	var f agentFlags
	cmd := &cobra.Command{Use: "agent", RunE: func(*cobra.Command, []string) error { return nil }}
	f.register(cmd, true)
	if err := cmd.ParseFlags([]string{"--advertise-addr", "192.168.1.5", "--bridge", "orchcp0"}); err != nil {
		t.Fatal(err)
	}
	cfg := f.cleanupNetworkConfig()
	if cfg.Underlay.IsValid() || cfg.ClusterCIDR.IsValid() || cfg.Masquerade {
		t.Fatalf("cleanup config would install: underlay %s, cidr %s, masquerade %v", cfg.Underlay, cfg.ClusterCIDR, cfg.Masquerade)
	}
	if cfg.BridgeName != "orchcp0" {
		t.Fatalf("bridge %q, want orchcp0", cfg.BridgeName)
	}
}
