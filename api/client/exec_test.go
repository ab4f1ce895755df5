package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/orch-io/orch/api"
)

// echoExec plays the master and agent: it switches to the exec protocol,
// echoes stdin to stdout upper-cased, says which command ran on stderr and
// exits 7.
func echoExec(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/replicas/hello.1/exec" || r.Header.Get("Upgrade") != api.ExecProtocol || r.ProtoMajor != 1 {
			api.WriteError(w, &api.Error{Code: api.CodeNotFound, Message: "no such replica: " + r.URL.Path})
			return
		}
		req, err := api.ParseExecRequest(r.URL.Query())
		if err != nil {
			t.Error(err)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+api.ExecProtocol+"\r\n\r\n")
		fw := api.NewFrameWriter(conn)
		_, _ = io.WriteString(fw.Stream(api.FrameStderr), "ran "+strings.Join(req.Command, " ")+"\n")
		for req.Stdin {
			typ, p, err := api.ReadFrame(brw.Reader)
			if err != nil {
				t.Errorf("read stdin frame: %v", err)
				return
			}
			if typ == api.FrameStdin && len(p) == 0 {
				break
			}
			if typ == api.FrameStdin {
				_, _ = fw.Stream(api.FrameStdout).Write(bytes.ToUpper(p))
			}
		}
		_ = fw.Exit(api.ExecExit{Code: 7})
	}
}

func TestExecStreamsAndReturnsExitCode(t *testing.T) {
	_, cfg := newServer(t, echoExec(t))
	c := mustNew(t, cfg)
	var out, errOut bytes.Buffer
	code, err := c.Exec(context.Background(), "hello.1", "default", []string{"/bin/cat", "-u"}, ExecOptions{
		Stdin: strings.NewReader("hello\n"), Stdout: &out, Stderr: &errOut,
	})
	if err != nil {
		t.Fatal(err)
	}
	if code != 7 || out.String() != "HELLO\n" || errOut.String() != "ran /bin/cat -u\n" {
		t.Errorf("code %d stdout %q stderr %q", code, out.String(), errOut.String())
	}
}

func TestExecErrorBeforeUpgrade(t *testing.T) {
	_, cfg := newServer(t, echoExec(t))
	c := mustNew(t, cfg)
	_, err := c.Exec(context.Background(), "nope.1", "", []string{"x"}, ExecOptions{})
	var we *api.Error
	if !errors.As(err, &we) || we.Code != api.CodeNotFound {
		t.Errorf("err = %v, want not_found", err)
	}
}

// TestExecFailsOver: a master without a leader (503) sends the session on
// to the next, as for any other call.
func TestExecFailsOver(t *testing.T) {
	srvA, cfg := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, &api.Error{Code: api.CodeNoLeader, Message: "no leader"})
	})
	srvB, _ := newServer(t, echoExec(t))
	cfg.Server = srvA.URL + "," + srvB.URL
	c := mustNew(t, cfg)
	var out bytes.Buffer
	code, err := c.Exec(context.Background(), "hello.1", "", []string{"true"}, ExecOptions{Stdout: &out})
	if err != nil || code != 7 {
		t.Fatalf("exec after a 503: code %d, err %v", code, err)
	}
}
