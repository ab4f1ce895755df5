package manifest

import (
	"slices"
	"strings"
	"testing"
)

func TestParseSecurityOptions(t *testing.T) {
	for _, doc := range []string{
		minimal + `user: "1000:1000"
readOnlyRootFilesystem: true
capabilities: {add: [NET_RAW, NET_BIND_SERVICE]}
resources: {pids: 50}
`,
		`{"kind": "Service", "name": "web", "image": "nginx:1.27", "user": "1000:1000",
		  "readOnlyRootFilesystem": true, "capabilities": {"add": ["NET_RAW", "NET_BIND_SERVICE"]},
		  "resources": {"pids": 50}}`,
	} {
		specs, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		s := specs[0]
		if s.User != "1000:1000" || !s.ReadOnlyRootFilesystem || s.Resources.Pids != 50 ||
			!slices.Equal(s.Capabilities.GetAdd(), []string{"NET_RAW", "NET_BIND_SERVICE"}) {
			t.Errorf("got user %q readOnly %v pids %d capabilities %v",
				s.User, s.ReadOnlyRootFilesystem, s.Resources.Pids, s.Capabilities)
		}
	}
}

func TestParseSecurityAccepts(t *testing.T) {
	for _, in := range []string{
		`user: "0"`, `user: "1000"`, `user: "2147483647:0"`, "user: nobody",
		"user: www-data:www-data", "user: _apt", `user: "app:100"`,
		"resources: {pids: 1}", "resources: {pids: 4194304}", "resources: {pids: 0}",
		"capabilities: {add: []}", "capabilities: {}",
		"capabilities: {add: [" + strings.Join(AllowedCapabilities, ", ") + "]}",
		"readOnlyRootFilesystem: false",
	} {
		if _, err := Parse([]byte(minimal + in + "\n")); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
}

func TestParseSecurityErrors(t *testing.T) {
	tests := []struct {
		name, in string
		field    string // the first FieldError's path
		contains string // in the message
	}{
		{"negative pids", "resources: {pids: -1}", "resources.pids", "must be 1-4194304"},
		{"too many pids", "resources: {pids: 5000000}", "resources.pids", "must be 1-4194304"},
		{"pids as string", `resources: {pids: "100"}`, "resources.pids", "must be an integer"},
		{"user as number", "user: 1000", "", ""}, // YAML's number is the text "1000": accepted
		{"empty uid", `user: ":1000"`, "user", "user is empty"},
		{"empty gid", `user: "1000:"`, "user", "group is empty"},
		{"uid too large", `user: "4294967295"`, "user", "0 to 2147483647"},
		{"negative uid", `user: "-1"`, "user", "not a name"},
		{"upper-case name", "user: Admin", "user", "not a name"},
		{"name with space", `user: "a b"`, "user", "not a name"},
		{"three parts", `user: "1:2:3"`, "user", "group \"2:3\""},
		{"readOnly as string", `readOnlyRootFilesystem: "yes"`, "readOnlyRootFilesystem", "true or false"},
		{"refused capability", "capabilities: {add: [NET_RAW, SYS_ADMIN]}", "capabilities.add[1]", `"SYS_ADMIN" is not allowed`},
		{"net admin", "capabilities: {add: [NET_ADMIN]}", "capabilities.add[0]", "docs/manifest.md"},
		{"ALL", "capabilities: {add: [ALL]}", "capabilities.add[0]", "is not allowed"},
		{"CAP_ prefix", "capabilities: {add: [CAP_NET_RAW]}", "capabilities.add[0]", "write NET_RAW"},
		{"lower case", "capabilities: {add: [net_raw]}", "capabilities.add[0]", "write NET_RAW"},
		{"duplicate capability", "capabilities: {add: [KILL, KILL]}", "capabilities.add[1]", "already capabilities.add[0]"},
		{"drop is not offered", "capabilities: {drop: [KILL]}", "capabilities.drop", "unknown field"},
		{"capabilities as list", "capabilities: [NET_RAW]", "capabilities", "must be a mapping"},
		// Nothing asks for the node's privileges: there is no field for them.
		{"privileged", "privileged: true", "privileged", "unknown field"},
		{"host network", "hostNetwork: true", "hostNetwork", "unknown field"},
		{"host pid", "hostPID: true", "hostPID", "unknown field"},
		{"host path volume", "volumes: [{name: root, mountPath: /host, hostPath: /}]", "volumes[0].hostPath", "unknown field"},
		{"mounts", "mounts: [{source: /, target: /host}]", "mounts", "unknown field"},
		{"security context", "securityContext: {privileged: true}", "securityContext", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal + tt.in + "\n"))
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse succeeded, want an error on %s", tt.field)
			}
			if got := fieldOf(err); got != tt.field {
				t.Errorf("field = %q, want %q (err: %v)", got, tt.field, err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("err = %q, want it to contain %q", err, tt.contains)
			}
		})
	}
}
