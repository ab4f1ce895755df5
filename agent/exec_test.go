package agent

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/api"
)

// execRuntime upper-cases stdin to stdout and reports the terminal sizes it
// was given on stderr, then exits 4.
type execRuntime struct {
	*fakeRuntime
	mu    sync.Mutex
	sizes []runtime.TermSize
}

func (e *execRuntime) Exec(ctx context.Context, id string, cfg runtime.ExecConfig) (int, error) {
	if cfg.TTY && cfg.Resize != nil {
		select {
		case sz := <-cfg.Resize:
			e.mu.Lock()
			e.sizes = append(e.sizes, sz)
			e.mu.Unlock()
			_, _ = io.WriteString(cfg.Stderr, "resized\n")
		case <-time.After(5 * time.Second):
		}
	}
	if cfg.Stdin != nil {
		b, _ := io.ReadAll(cfg.Stdin)
		_, _ = cfg.Stdout.Write(bytes.ToUpper(b))
	}
	return 4, nil
}

// execSession opens an exec stream to the agent's handler as a master
// would, sends stdin and a resize, and returns the frames it got back.
func execSession(t *testing.T, url string, req api.ExecRequest, stdin string) (stdout, stderr string, exit api.ExecExit) {
	t.Helper()
	host := strings.TrimPrefix(url, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST /v1/exec/r1?"+req.Query().Encode()+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: Upgrade\r\nUpgrade: "+api.ExecProtocol+"\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %s: %s", resp.Status, body)
	}
	fw := api.NewFrameWriter(conn)
	if req.TTY {
		_ = fw.Resize(132, 43)
	}
	if req.Stdin {
		_, _ = io.WriteString(fw.Stream(api.FrameStdin), stdin)
		_ = fw.Write(api.FrameStdin, nil)
	}
	var out, errOut strings.Builder
	for {
		typ, p, err := api.ReadFrame(br)
		if err != nil {
			t.Fatalf("read frame: %v", err)
		}
		switch typ {
		case api.FrameStdout:
			out.Write(p)
		case api.FrameStderr:
			errOut.Write(p)
		case api.FrameExit:
			e, err := api.ParseExit(p)
			if err != nil {
				t.Fatal(err)
			}
			return out.String(), errOut.String(), e
		}
	}
}

func TestServeExec(t *testing.T) {
	rt := &execRuntime{fakeRuntime: newFakeRuntime()}
	s := &server{runtime: rt, container: func(id, name string) (string, bool) { return id, id == "r1" && name == "" }, log: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/exec/{id}", s.serveExec)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	out, errOut, exit := execSession(t, srv.URL, api.ExecRequest{Command: []string{"/bin/cat"}, Stdin: true, TTY: true}, "hello\n")
	if out != "HELLO\n" || errOut != "resized\n" || exit.Code != 4 || exit.Error != "" {
		t.Errorf("stdout %q stderr %q exit %+v", out, errOut, exit)
	}
	rt.mu.Lock()
	if len(rt.sizes) != 1 || rt.sizes[0] != (runtime.TermSize{Width: 132, Height: 43}) {
		t.Errorf("sizes %v", rt.sizes)
	}
	rt.mu.Unlock()

	// Errors before the switch are plain answers.
	for _, c := range []struct {
		path string
		want int
	}{
		{"/v1/exec/other?command=x", http.StatusNotFound},
		{"/v1/exec/r1", http.StatusBadRequest},
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+c.path, nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", api.ExecProtocol)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("POST %s: %s, want %d", c.path, resp.Status, c.want)
		}
	}
}
