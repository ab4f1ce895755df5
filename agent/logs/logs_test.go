package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func numbered(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

func TestTail(t *testing.T) {
	f := New(t.TempDir())
	all := numbered(1, 5000)
	if err := os.WriteFile(f.Path("r1"), []byte(all), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		n    int
		want string
	}{
		{0, ""},
		{1, "line 5000\n"},
		{5, numbered(4996, 5000)},
		{-1, all},
		{100000, all},
	}
	for _, c := range cases {
		got, end, err := f.Tail("r1", c.n)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("Tail(%d) = %q..., want %q...", c.n, first(got), first([]byte(c.want)))
		}
		if end != int64(len(all)) {
			t.Errorf("Tail(%d) end = %d, want %d", c.n, end, len(all))
		}
	}
	if _, _, err := f.Tail("absent", 5); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Tail of a missing file: %v, want not-exist", err)
	}
}

// TestRotateAndTailAcrossCopies: rotation keeps maxFiles files, and Tail
// reads back through the copies, joining a line that a rotation split.
func TestRotateAndTailAcrossCopies(t *testing.T) {
	dir := t.TempDir()
	f := New(dir, WithMaxSize(100), WithMaxFiles(3))
	w, err := os.OpenFile(f.Path("r"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	write := func(s string) {
		if _, err := w.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	// Under the limit: nothing happens.
	write(numbered(1, 5))
	if rotated, err := f.Rotate("r"); rotated || err != nil {
		t.Fatalf("Rotate under the limit = %v, %v", rotated, err)
	}
	write(numbered(6, 14) + "split ") // 14 lines and half of a 15th: 109 bytes
	if rotated, err := f.Rotate("r"); !rotated || err != nil {
		t.Fatalf("Rotate past the limit = %v, %v", rotated, err)
	}
	// The shim's O_APPEND writes land at the new end, offset 0.
	write("line 15\n" + numbered(16, 18))
	got, end, err := f.Tail("r", 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := "line 14\nsplit line 15\n" + numbered(16, 18); string(got) != want {
		t.Errorf("Tail(5) across a rotation = %q, want %q", got, want)
	}
	if cur, _ := os.ReadFile(f.Path("r")); int64(len(cur)) != end || !strings.HasPrefix(string(cur), "line 15\n") {
		t.Errorf("current file %q (end %d): want it truncated and written from 0", cur, end)
	}
	// Two more rotations: only two copies are kept, the oldest dropped.
	for i := 0; i < 2; i++ {
		write(strings.Repeat("x", 120) + "\n")
		if rotated, err := f.Rotate("r"); !rotated || err != nil {
			t.Fatalf("Rotate %d = %v, %v", i, rotated, err)
		}
	}
	names, _ := filepath.Glob(filepath.Join(dir, "r.log*"))
	if len(names) != 3 {
		t.Errorf("files after three rotations: %v, want r.log, r.log.1, r.log.2", names)
	}
	all, _, err := f.Tail("r", -1)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(all), "line 1\n") {
		t.Errorf("the oldest copy should be gone, but Tail(-1) still has line 1")
	}
	if err := f.Remove("r"); err != nil {
		t.Fatal(err)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "r.log*")); len(names) != 0 {
		t.Errorf("after Remove: %v", names)
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
	f := New(t.TempDir())
	if err := os.WriteFile(f.Path("r"), []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error)
	go func() { done <- f.Follow(ctx, "r", 4, &out, nil) }()
	w, err := os.OpenFile(f.Path("r"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(w, "new")
	w.Close()
	waitFor(t, func() bool { return out.String() == "new\n" })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestFollowAcrossRotations: a writer appends numbered lines while the file
// is rotated many times; the follower sees every line once, in order.
func TestFollowAcrossRotations(t *testing.T) {
	f := New(t.TempDir(), WithMaxSize(1000), WithMaxFiles(2))
	f.poll = 10 * time.Millisecond
	w, err := os.OpenFile(f.Path("r"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- f.Follow(ctx, "r", 0, &out, nil) }()

	const lines = 2000
	rotations := 0
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(w, "line %d\n", i)
		if i%50 == 0 {
			// The follower keeps up only with one rotation per look (a
			// copy is dropped when two happen between looks, as
			// maxFiles=2 keeps one): wait until it has copied a line
			// written after the last rotation, however slow the
			// machine, and leave it the rest to find in the copy.
			sinceLast := len(numbered(1, i-49))
			waitFor(t, func() bool { return len(out.String()) >= sinceLast })
			if ok, err := f.Rotate("r"); err != nil {
				t.Fatal(err)
			} else if ok {
				rotations++
			}
		}
	}
	want := numbered(1, lines)
	waitFor(t, func() bool { return len(out.String()) >= len(want) })
	cancel()
	<-done
	if rotations < 10 {
		t.Fatalf("only %d rotations; the test did not test much", rotations)
	}
	if got := out.String(); got != want {
		t.Errorf("followed output differs from what was written (%d bytes vs %d) across %d rotations", len(got), len(want), rotations)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkTailWholeHistory reads back a replica's whole kept output (three
// full 10 MiB files), as `orchctl logs` without --tail does.
func BenchmarkTailWholeHistory(b *testing.B) {
	f := New(b.TempDir())
	data := []byte(strings.Repeat(strings.Repeat("x", 99)+"\n", DefaultMaxSize/100))
	for _, p := range []string{f.Path("r"), f.rotated("r", 1), f.rotated("r", 2)} {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		got, _, err := f.Tail("r", -1)
		if err != nil || len(got) != 3*len(data) {
			b.Fatalf("Tail(-1) = %d bytes, %v; want %d", len(got), err, 3*len(data))
		}
	}
}
