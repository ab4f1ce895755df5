package measure

import (
	"strings"
	"testing"
)

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		f    Figure
		want string
	}{
		{Figure{Value: 16000, Goal: 15000, AtLeast: true}, "met"},
		{Figure{Value: 7000, Goal: 15000, AtLeast: true}, "MISSED"},
		{Figure{Value: 0.2, Goal: 0.3}, "met"},
		{Figure{Value: 0.3, Goal: 0.3}, "met"},
		{Figure{Value: 2000, Goal: 50}, "MISSED"},
		{Figure{Value: 1, NoGoal: true}, ""},
		{Figure{Missing: true, Goal: 3}, "not measured"},
	} {
		if got := tc.f.Verdict(); got != tc.want {
			t.Errorf("%+v: verdict %q, want %q", tc.f, got, tc.want)
		}
	}
}

func TestTable(t *testing.T) {
	out := Table([]Figure{
		{Name: "writes after leader kill", Value: 1.25, Unit: "s", Goal: 3},
		{Name: "replicas", Value: 150000, Unit: "", NoGoal: true},
		{Name: "node loss", Unit: "s", Goal: 5, Missing: true},
	})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want a header and 3:\n%s", len(lines), out)
	}
	for i, want := range []string{"verdict", "1.25 s", "1.5e+05", "not measured"} {
		if !strings.HasPrefix(lines[i], "| ") || !strings.Contains(lines[i], want) {
			t.Errorf("line %d %q: want a '| ' line with %q", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[1], "<= 3 s") || !strings.HasSuffix(lines[1], "met") {
		t.Errorf("line %q: want goal <= 3 s, met", lines[1])
	}
}
