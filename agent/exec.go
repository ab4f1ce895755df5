package agent

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/master/api/wire"
)

// serveExec runs a command in one of this node's replicas for a master,
// switching the connection to the exec stream protocol (wire.ExecProtocol).
// Errors found before the switch are ordinary JSON errors; later ones end
// the stream in its exit frame.
func (a *Agent) serveExec(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	req, err := wire.ParseExecRequest(r.URL.Query())
	var we *wire.Error
	if errors.As(err, &we) {
		wire.WriteError(w, we)
		return
	}
	if r.Header.Get("Upgrade") != wire.ExecProtocol {
		wire.WriteError(w, &wire.Error{Code: wire.CodeInvalid, Message: "exec needs Upgrade: " + wire.ExecProtocol, Status: http.StatusBadRequest})
		return
	}
	execer, ok := a.cfg.Runtime.(runtime.Execer)
	if !ok {
		wire.WriteError(w, &wire.Error{Code: wire.CodeInvalid, Message: "this node's runtime cannot exec", Status: http.StatusBadRequest})
		return
	}
	a.mu.Lock()
	_, runs := a.workers[id]
	a.mu.Unlock()
	if !runs {
		wire.WriteError(w, &wire.Error{Code: wire.CodeNotFound, Message: "replica " + id + " does not run on this node", Status: http.StatusNotFound})
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		wire.WriteError(w, &wire.Error{Code: wire.CodeInternal, Message: "exec: " + err.Error(), Status: http.StatusInternalServerError})
		return
	}
	defer conn.Close()
	// The server's header deadline must not cut a long session.
	_ = conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+wire.ExecProtocol+"\r\n\r\n"); err != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	fw := wire.NewFrameWriter(conn)
	cfg := runtime.ExecConfig{Args: req.Command, TTY: req.TTY, Stdout: fw.Stream(wire.FrameStdout), Stderr: fw.Stream(wire.FrameStderr)}
	stdinR, stdinW := io.Pipe()
	defer stdinR.Close()
	if req.Stdin {
		cfg.Stdin = stdinR
	}
	resize := make(chan runtime.TermSize, 1)
	cfg.Resize = resize
	// The client's frames: stdin and resizes. Its going away ends the
	// process (ctx), as a closed terminal would.
	go func() {
		defer cancel()
		for {
			typ, payload, err := wire.ReadFrame(brw.Reader)
			if err != nil {
				stdinW.CloseWithError(io.ErrUnexpectedEOF)
				return
			}
			switch typ {
			case wire.FrameStdin:
				if len(payload) == 0 {
					stdinW.Close()
					continue
				}
				if _, err := stdinW.Write(payload); err != nil && !errors.Is(err, io.ErrClosedPipe) {
					return
				}
			case wire.FrameResize:
				if wd, ht, ok := wire.ParseResize(payload); ok {
					select {
					case resize <- runtime.TermSize{Width: wd, Height: ht}:
					default:
						// A newer size replaces the one not yet applied.
						select {
						case <-resize:
						default:
						}
						resize <- runtime.TermSize{Width: wd, Height: ht}
					}
				}
			}
		}
	}()
	a.log.Info("exec", "replica", id, "command", req.Command[0], "tty", req.TTY)
	code, err := execer.Exec(ctx, id, cfg)
	exit := wire.ExecExit{Code: code}
	if err != nil {
		exit.Error = err.Error()
	}
	_ = fw.Exit(exit)
}
