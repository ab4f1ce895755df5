package agent

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/api"
)

// serveExec runs a command in one of this node's replicas for a master,
// switching the connection to the exec stream protocol (api.ExecProtocol).
// Errors found before the switch are ordinary JSON errors; later ones end
// the stream in its exit frame.
func (a *Agent) serveExec(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	req, err := api.ParseExecRequest(r.URL.Query())
	var we *api.Error
	if errors.As(err, &we) {
		api.WriteError(w, we)
		return
	}
	if r.Header.Get("Upgrade") != api.ExecProtocol {
		api.WriteError(w, &api.Error{Code: api.CodeInvalid, Message: "exec needs Upgrade: " + api.ExecProtocol, Status: http.StatusBadRequest})
		return
	}
	execer, ok := a.cfg.Runtime.(runtime.Execer)
	if !ok {
		api.WriteError(w, &api.Error{Code: api.CodeInvalid, Message: "this node's runtime cannot exec", Status: http.StatusBadRequest})
		return
	}
	a.mu.Lock()
	_, runs := a.workers[id]
	a.mu.Unlock()
	if !runs {
		api.WriteError(w, &api.Error{Code: api.CodeNotFound, Message: "replica " + id + " does not run on this node", Status: http.StatusNotFound})
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		api.WriteError(w, &api.Error{Code: api.CodeInternal, Message: "exec: " + err.Error(), Status: http.StatusInternalServerError})
		return
	}
	defer conn.Close()
	// The server's header deadline must not cut a long session.
	_ = conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+api.ExecProtocol+"\r\n\r\n"); err != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	fw := api.NewFrameWriter(conn)
	cfg := runtime.ExecConfig{Args: req.Command, TTY: req.TTY, Stdout: fw.Stream(api.FrameStdout), Stderr: fw.Stream(api.FrameStderr)}
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
			typ, payload, err := api.ReadFrame(brw.Reader)
			if err != nil {
				stdinW.CloseWithError(io.ErrUnexpectedEOF)
				return
			}
			switch typ {
			case api.FrameStdin:
				if len(payload) == 0 {
					stdinW.Close()
					continue
				}
				if _, err := stdinW.Write(payload); err != nil && !errors.Is(err, io.ErrClosedPipe) {
					return
				}
			case api.FrameResize:
				if wd, ht, ok := api.ParseResize(payload); ok {
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
	exit := api.ExecExit{Code: code}
	if err != nil {
		exit.Error = err.Error()
	}
	_ = fw.Exit(exit)
}
