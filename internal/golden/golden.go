// Package golden keeps generated reference files in the repository honest:
// a test renders the file from its source (the route table, a command
// tree) and compares it with the committed copy, failing when they differ;
// with -update it writes the copy instead. `make docs` updates them all.
//
// It is for tests only and knows nothing of what the files hold.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the committed generated files (docs/...) instead of comparing with them")

// Check compares got with the file at rel, a path from the repository's
// root, or writes it there under -update.
func Check(t testing.TB, rel string, got []byte) {
	t.Helper()
	path := filepath.Join(root(t), rel)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("golden: write %s: %v", rel, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden: %s: %v (run `make docs` to write it)", rel, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: it differs from what the code generates at line %d; run `make docs` and commit it", rel, firstDiffLine(got, want))
	}
}

// root is the repository's root: the nearest directory above the test's
// own (its package's) that holds go.mod.
func root(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("golden: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("golden: no go.mod above the test's directory")
		}
		dir = parent
	}
}

func firstDiffLine(a, b []byte) int {
	line := 1
	for i := 0; i < len(a) && i < len(b) && a[i] == b[i]; i++ {
		if a[i] == '\n' {
			line++
		}
	}
	return line
}
