package layout

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is the longest a function may run, braces included.
const maxFuncLines = 80

// tooLong lists the functions still over the limit, as PATH:NAME, until
// they are split. It may only shrink.
var tooLong = map[string]bool{
	"agent/runtime/exec_test.go:TestExec":           true,
	"master/manifest/parse_test.go:TestParseErrors": true,
}

func TestNoLongFunctions(t *testing.T) {
	root := repoRoot(t)
	fset := token.NewFileSet()
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return fmt.Errorf("parse %s: %w", path, err)
		}
		if ast.IsGenerated(file) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			key := rel + ":" + fn.Name.Name
			if lines <= maxFuncLines {
				continue
			}
			seen[key] = true
			if !tooLong[key] {
				t.Errorf("%s runs %d lines (limit %d): split it", key, lines, maxFuncLines)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for key := range tooLong {
		if !seen[key] {
			t.Errorf("%s is within the limit now: remove it from tooLong", key)
		}
	}
}
