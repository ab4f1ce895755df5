package runtime

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCPUConversions(t *testing.T) {
	cases := []struct {
		millis     int64
		wantQuota  int64
		wantShares uint64
	}{
		{1000, 100_000, 1024},
		{250, 25_000, 256},
		{2500, 250_000, 2560},
		{1, 1000, 2}, // kernel minimums
	}
	for _, tc := range cases {
		if got := cpuQuota(tc.millis); got != tc.wantQuota {
			t.Errorf("cpuQuota(%d) = %d, want %d", tc.millis, got, tc.wantQuota)
		}
		if got := cpuShares(tc.millis); got != tc.wantShares {
			t.Errorf("cpuShares(%d) = %d, want %d", tc.millis, got, tc.wantShares)
		}
	}
}

func TestParseOOMKill(t *testing.T) {
	cases := []struct {
		in   string
		want uint64
	}{
		{"oom_kill_disable 0\nunder_oom 0\noom_kill 2\n", 2},               // v1 memory.oom_control
		{"low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n", 1}, // v2 memory.events
		{"oom_kill_disable 0\nunder_oom 0\n", 0},                           // kernel without the counter
		{"", 0},
	}
	for _, tc := range cases {
		if got := parseOOMKill([]byte(tc.in)); got != tc.want {
			t.Errorf("parseOOMKill(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeRef(t *testing.T) {
	cases := []struct{ in, want string }{
		{"orch.local/hello:1", "orch.local/hello:1"},
		{"nginx", "docker.io/library/nginx:latest"},
		{"127.0.0.1:5000/x", "127.0.0.1:5000/x:latest"},
	}
	for _, tc := range cases {
		got, err := normalizeRef(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("normalizeRef(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := normalizeRef("has space"); err == nil {
		t.Error("normalizeRef accepted an invalid reference")
	}
}

func TestEnvListIsSorted(t *testing.T) {
	got := envList(map[string]string{"B": "2", "A": "1", "C": "x=y"})
	want := []string{"A=1", "B=2", "C=x=y"}
	if len(got) != len(want) {
		t.Fatalf("envList = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("envList = %v, want %v", got, want)
		}
	}
}

func TestKeyedLocksSerialisePerKey(t *testing.T) {
	var k keyedLocks
	var inA atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock := k.lock("a")
			defer unlock()
			if n := inA.Add(1); n != 1 {
				t.Errorf("%d holders of key a at once", n)
			}
			time.Sleep(time.Millisecond)
			inA.Add(-1)
		}()
	}
	// Another key is not blocked by a.
	unlockA := k.lock("a")
	done := make(chan struct{})
	go func() { k.lock("b")(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("key b blocked by key a")
	}
	unlockA()
	wg.Wait()
	if len(k.locks) != 0 {
		t.Errorf("%d lock entries left after all unlocked", len(k.locks))
	}
}
