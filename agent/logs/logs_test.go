package logs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	var b strings.Builder
	for i := 1; i <= 5000; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		n    int
		want string
	}{
		{0, ""},
		{1, "line 5000\n"},
		{5, "line 4996\nline 4997\nline 4998\nline 4999\nline 5000\n"},
		{-1, b.String()},
		{100000, b.String()},
	}
	for _, c := range cases {
		got, end, err := Tail(path, c.n)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("Tail(%d) = %q..., want %q...", c.n, first(got), first([]byte(c.want)))
		}
		if end != int64(b.Len()) {
			t.Errorf("Tail(%d) end = %d, want %d", c.n, end, b.Len())
		}
	}
}

func first(b []byte) string {
	if len(b) > 40 {
		return string(b[:40])
	}
	return string(b)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func TestFollowSeesAppendedLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error)
	go func() { done <- Follow(ctx, path, 4, &out, nil) }()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "new")
	f.Close()
	deadline := time.Now().Add(10 * time.Second)
	for out.String() != "new\n" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if out.String() != "new\n" {
		t.Fatalf("followed %q, want %q", out.String(), "new\n")
	}
}
