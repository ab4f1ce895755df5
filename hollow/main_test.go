package hollow_test

import (
	"os"
	"testing"
)

// TestMain runs the test binary as the scale benchmark's reader process
// when it is started as one (readerEnv), and as the tests otherwise.
func TestMain(m *testing.M) {
	if os.Getenv(readerEnv) != "" {
		os.Exit(readerProcess())
	}
	os.Exit(m.Run())
}
