package agent

import "testing"

// A fleet given the same list of masters spreads over them instead of
// piling onto the first.
func TestAgentsStartAtDifferentMasters(t *testing.T) {
	trust, err := newCATrust(nil)
	if err != nil {
		t.Fatal(err)
	}
	urls := []string{"https://m1:7400", "https://m2:7400", "https://m3:7400"}
	seen := map[string]int{}
	for range 300 {
		seen[newMasterConn(urls, "token", trust).base()]++
	}
	for _, u := range urls {
		if seen[u] < 50 {
			t.Errorf("%d of 300 agents start at %s, want about 100 each: %v", seen[u], u, seen)
		}
	}
}
