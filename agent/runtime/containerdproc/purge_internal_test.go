package containerdproc

import "testing"

func TestParseShimCmdline(t *testing.T) {
	const sock = "/tmp/ctrd1/containerd.sock"
	cases := []struct {
		name   string
		args   []string
		wantOK bool
		wantNS string
		wantID string
	}{
		{"ours", []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "orch", "-id", "web-1", "-address", sock}, true, "orch", "web-1"},
		{"other daemon", []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "orch", "-id", "web-1", "-address", "/run/containerd/containerd.sock"}, false, "", ""},
		{"not a shim", []string{"/bin/sleep", "-namespace", "orch", "-id", "x", "-address", sock}, false, "", ""},
		{"no id", []string{"containerd-shim-runc-v2", "-namespace", "orch", "-address", sock}, false, "", ""},
		{"empty", nil, false, "", ""},
	}
	for _, tc := range cases {
		s, ok := parseShimCmdline(tc.args, sock)
		if ok != tc.wantOK || (ok && (s.namespace != tc.wantNS || s.id != tc.wantID)) {
			t.Errorf("%s: parseShimCmdline = %+v, %v; want ns %q id %q, %v", tc.name, s, ok, tc.wantNS, tc.wantID, tc.wantOK)
		}
	}
}
