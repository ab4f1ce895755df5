package layout

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/orch-io/orch"

// importRules says, for each tree of packages, which trees none of its
// packages may depend on, directly or through others.
var importRules = []struct {
	tree      string
	forbidden []string
}{
	{"agent", []string{"master"}},
	{"master", []string{"agent"}},
	{"api", []string{"master", "agent", "netoverlay", "cmd"}},
	{"pki", []string{"master", "agent", "api", "netoverlay", "cmd"}},
	{"proto", []string{"master", "agent", "api", "pki", "scheduler", "netoverlay", "cmd"}},
	{"scheduler", []string{"master", "agent", "api", "pki", "netoverlay", "cmd"}},
	{"netoverlay", []string{"master", "agent", "api", "pki", "scheduler", "cmd"}},
}

func TestImportRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not on PATH")
	}
	for _, rule := range importRules {
		// -test: a test helper reaching across the wall counts too.
		out, err := exec.Command("go", "list", "-test", "-deps", "-f", "{{.ImportPath}}", module+"/"+rule.tree+"/...").CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s/...: %v\n%s", rule.tree, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			dep = strings.TrimSuffix(strings.Fields(dep + " ")[0], ".test")
			for _, bad := range rule.forbidden {
				if dep == module+"/"+bad || strings.HasPrefix(dep, module+"/"+bad+"/") {
					t.Errorf("%s/... depends on %s: the %s tree must not reach into %s/", rule.tree, dep, rule.tree, bad)
				}
			}
		}
	}
}
