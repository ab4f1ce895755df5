package main

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteThenFile(t *testing.T) {
	ts := newTestServer(t)
	path := filepath.Join(t.TempDir(), "sub", "note.txt")
	q := url.Values{"path": {path}, "data": {"kept across restarts"}}
	if code, body := ts.get(t, "/write?"+q.Encode()); code != 200 {
		t.Fatalf("write: %d %q", code, body)
	}
	code, body := ts.get(t, "/file?path="+url.QueryEscape(path))
	if code != 200 || body != "kept across restarts" {
		t.Fatalf("file: %d %q, want 200 with what was written", code, body)
	}
	if code, _ := ts.get(t, "/file?path="+url.QueryEscape(path+".missing")); code != 404 {
		t.Fatalf("missing file: %d, want 404", code)
	}
	if code, _ := ts.get(t, "/file"); code != 400 {
		t.Fatalf("file without path: %d, want 400", code)
	}
}

func TestEnv(t *testing.T) {
	t.Setenv("HELLO_TEST_VALUE", "s3cret")
	t.Setenv("HELLO_TEST_EMPTY", "")
	ts := newTestServer(t)
	for _, c := range []struct {
		name     string
		wantCode int
		wantBody string
	}{
		{"HELLO_TEST_VALUE", 200, "s3cret"},
		{"HELLO_TEST_EMPTY", 200, ""},
		{"HELLO_TEST_UNSET", 404, "name HELLO_TEST_UNSET: not set\n"},
	} {
		if code, body := ts.get(t, "/env?name="+c.name); code != c.wantCode || body != c.wantBody {
			t.Errorf("env %s: %d %q, want %d %q", c.name, code, body, c.wantCode, c.wantBody)
		}
	}
}

func TestExitCommand(t *testing.T) {
	var slept time.Duration
	sleep := func(d time.Duration) { slept += d }
	for _, c := range []struct {
		args      []string
		wantCode  int
		wantSleep time.Duration
	}{
		{[]string{"0"}, 0, 0},
		{[]string{"3", "--after", "2s"}, 3, 2 * time.Second},
		{[]string{}, 2, 0},
		{[]string{"x"}, 2, 0},
		{[]string{"300"}, 2, 0},
		{[]string{"1", "--after", "-1s"}, 2, 0},
	} {
		slept = 0
		var out, errOut bytes.Buffer
		if got := exitCommand(c.args, &out, &errOut, sleep); got != c.wantCode || slept != c.wantSleep {
			t.Errorf("exit %v = %d after %s, want %d after %s (stderr %q)", c.args, got, slept, c.wantCode, c.wantSleep, errOut.String())
		}
	}
}

func TestCatCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(path, []byte("hunter2"), 0o400); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := catCommand([]string{path}, &out, &errOut); code != 0 || out.String() != "hunter2" {
		t.Fatalf("cat: %d %q (stderr %q)", code, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := catCommand([]string{path + ".missing"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no such file") {
		t.Fatalf("cat missing: %d, stderr %q", code, errOut.String())
	}
}
