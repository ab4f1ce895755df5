package main

import (
	"strings"
	"testing"

	"github.com/orch-io/orch/api"
)

func TestVersion(t *testing.T) {
	c := startLiveCluster(t, 1)
	out := c.mustRun("", "version")
	for _, want := range []string{"orchctl " + version + ", " + api.VersionLine(), "master: protocol " + api.ProtocolVersion.String()} {
		if !strings.Contains(out, want) {
			t.Errorf("version lacks %q:\n%s", want, out)
		}
	}
	if out := c.mustRun("", "version", "--client"); strings.Contains(out, "master") {
		t.Errorf("version --client asked a master:\n%s", out)
	}
}
