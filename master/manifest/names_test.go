package manifest

import (
	"regexp"
	"testing"
)

// The patterns the hand-written name checks replaced.
var (
	dnsLabelPattern  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	labelNamePattern = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	envNamePattern   = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)
)

func checkNameAgainstPatterns(t *testing.T, s string) {
	t.Helper()
	for _, c := range []struct {
		name    string
		got     bool
		pattern *regexp.Regexp
	}{
		{"isDNSLabel", isDNSLabel(s), dnsLabelPattern},
		{"isLabelName", isLabelName(s), labelNamePattern},
		{"isEnvName", isEnvName(s), envNamePattern},
	} {
		if want := c.pattern.MatchString(s); c.got != want {
			t.Errorf("%s(%q) = %v, %s says %v", c.name, s, c.got, c.pattern, want)
		}
	}
}

func TestNameChecksMatchTheirPatterns(t *testing.T) {
	for _, s := range []string{
		"", "a", "-", ".", "_", "0", "A", "a-", "-a", "a-b", "a--b", "web1", "Web", "1web",
		"a.b", ".a", "a.", "a_b", "_a", "a_", "node.name", "app.io", "A-1_b.c", "é", "a\n",
		"a b", "a/b", "PATH", "_PATH", "-x", "9lives", "a\x00",
	} {
		checkNameAgainstPatterns(t, s)
	}
}

func FuzzNameChecks(f *testing.F) {
	for _, s := range []string{"web-1", "app.io_x", "-.", "9a"} {
		f.Add(s)
	}
	f.Fuzz(checkNameAgainstPatterns)
}
