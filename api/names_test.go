package api

import (
	"strings"
	"testing"
)

func TestCheckPathName(t *testing.T) {
	for _, ok := range []string{"r-0a1b2c", "hello.2", "node-1", "sha256-ab", strings.Repeat("a", MaxPathNameLen)} {
		if err := CheckPathName("id", ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b", `a\b`, "/etc", "a\x00b", "a\nb", strings.Repeat("a", MaxPathNameLen+1)} {
		if err := CheckPathName("id", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
