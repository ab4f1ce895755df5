package netoverlay

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// fakeIPForward points the sysctl at a file for the test, so nothing on
// the machine changes.
func fakeIPForward(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ip_forward")
	if err := os.WriteFile(path, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := ipForwardPath
	ipForwardPath = path
	t.Cleanup(func() { ipForwardPath = old })
	return path
}

// Forwarding is turned on only when the node routes: an underlay to peers,
// or masquerade with rules. A network with neither (cleanup, tests in the
// machine's namespace) leaves the sysctl alone.
func TestNewTouchesIPForwardOnlyWhenRouting(t *testing.T) {
	tests := []struct {
		name  string
		cfg   func(*Config)
		wants string
	}{
		{"bridge only", func(*Config) {}, "0\n"},
		{"masquerade without rules", func(c *Config) { c.Masquerade = true }, "0\n"},
		{"rules without masquerade", func(c *Config) { c.ClusterCIDR = netip.MustParsePrefix("10.244.0.0/16") }, "0\n"},
		{"masquerade with rules", func(c *Config) {
			c.ClusterCIDR = netip.MustParsePrefix("10.244.0.0/16")
			c.Masquerade = true
		}, "1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := fakeIPForward(t)
			n := newTestNetworkWith(t, tt.cfg)
			if got, _ := os.ReadFile(path); string(got) != tt.wants {
				t.Fatalf("ip_forward = %q, want %q", got, tt.wants)
			}
			if n.overlayEnabled() {
				t.Fatal("VXLAN enabled without an underlay")
			}
		})
	}
}
