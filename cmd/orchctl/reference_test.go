package main

import (
	"testing"

	"github.com/orch-io/orch/internal/clidoc"
	"github.com/orch-io/orch/internal/golden"
)

// TestCLIReference checks that docs/cli.md is orchctl's help as the code
// prints it; `make docs` rewrites it.
func TestCLIReference(t *testing.T) {
	page, err := clidoc.Markdown((&app{}).rootCommand(),
		"Every orchctl command, generated from its own help (`orchctl COMMAND --help`) by `make docs`: do not edit by hand. "+
			"The REST API these commands call is described in [api.md](api.md).")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "docs/cli.md", append(page, '\n'))
}
