// Package e2e is the multi-host suite (`make e2e`): real orchd masters and
// agents on hosts made of network namespaces (see e2e/harness). It runs only
// when ORCH_E2E=1, so `go test ./...` skips it.
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/orch-io/orch/e2e/harness"
)

var (
	orchdBin string
	helloTar string
)

func TestMain(m *testing.M) {
	if os.Getenv("ORCH_E2E") != "1" {
		fmt.Println("e2e: skipped (run `make e2e`, or set ORCH_E2E=1)")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "orch-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if orchdBin, err = harness.Build(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		helloTar, _ = filepath.Abs("../images/hello.tar")
		if _, err := os.Stat(helloTar); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: images/hello.tar is missing: run `make images`")
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}
