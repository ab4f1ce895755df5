package main

import (
	"testing"

	"github.com/orch-io/orch/internal/clidoc"
	"github.com/orch-io/orch/internal/golden"
)

// TestCLIReference checks that docs/orchd.md is orchd's help as the code
// prints it; `make docs` rewrites it.
func TestCLIReference(t *testing.T) {
	page, err := clidoc.Markdown(newRootCommand(),
		"Every orchd command, generated from its own help (`orchd COMMAND --help`) by `make docs`: do not edit by hand. "+
			"The command line that talks to a running cluster is [orchctl](cli.md).")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "docs/orchd.md", append(page, '\n'))
}
