package api

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestExecFramesRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	fw := NewFrameWriter(&buf)
	big := strings.Repeat("x", maxFrame+10)
	if _, err := io.WriteString(fw.Stream(FrameStdout), "out"); err != nil {
		t.Fatal(err)
	}
	_ = fw.Write(FrameStdin, nil)
	_ = fw.Resize(120, 40)
	_, _ = io.WriteString(fw.Stream(FrameStderr), big)
	_ = fw.Exit(ExecExit{Code: 3})

	type frame struct {
		typ byte
		n   int
	}
	var got []frame
	var payloads [][]byte
	for {
		typ, p, err := ReadFrame(&buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, frame{typ, len(p)})
		payloads = append(payloads, p)
	}
	want := []frame{{FrameStdout, 3}, {FrameStdin, 0}, {FrameResize, 4}, {FrameStderr, maxFrame}, {FrameStderr, 10}, {FrameExit, len(`{"code":3}`)}}
	if len(got) != len(want) {
		t.Fatalf("frames %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("frame %d = %v, want %v", i, got[i], want[i])
		}
	}
	if w, h, ok := ParseResize(payloads[2]); !ok || w != 120 || h != 40 {
		t.Errorf("resize = %d %d %v", w, h, ok)
	}
	if e, err := ParseExit(payloads[5]); err != nil || e.Code != 3 {
		t.Errorf("exit = %+v %v", e, err)
	}
}

func TestReadFrameRefusesHugeLength(t *testing.T) {
	if _, _, err := ReadFrame(bytes.NewReader([]byte{'o', 0xff, 0xff, 0xff, 0xff})); err == nil {
		t.Error("no error for a 4 GiB frame")
	}
}

func TestExecRequestQuery(t *testing.T) {
	r := ExecRequest{Command: []string{"/hello", "get", "http://x/?a=b&c"}, Stdin: true, TTY: false}
	back, err := ParseExecRequest(r.Query())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(back.Command, "|") != strings.Join(r.Command, "|") || !back.Stdin || back.TTY {
		t.Errorf("round trip: %+v", back)
	}
	if _, err := ParseExecRequest(ExecRequest{}.Query()); !errors.Is(err, ErrInvalid) {
		t.Errorf("no command: %v", err)
	}
}
