package main

import "testing"

func TestSizeFlag(t *testing.T) {
	var n int64
	f := newSizeFlag(&n, "2Gi")
	if n != 2<<30 || f.String() != "2Gi" {
		t.Fatalf("default: %d %q", n, f)
	}
	for in, want := range map[string]int64{"512Mi": 512 << 20, "1048576": 1 << 20, "3Ki": 3 << 10, "1Ti": 1 << 40} {
		if err := f.Set(in); err != nil || n != want {
			t.Errorf("Set(%q): %d, %v; want %d", in, n, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1Gi", "1.5Gi", "2G", "2gi", "9999999Ti"} {
		if err := f.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted: %d", bad, n)
		}
	}
}
