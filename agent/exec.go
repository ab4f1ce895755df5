package agent

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/api"
)

// serveExec runs a command in one of this node's replicas for a master,
// switching the connection to the exec stream protocol (api.ExecProtocol).
// Errors found before the switch are ordinary JSON errors; later ones end
// the stream in its exit frame.
func (s *server) serveExec(w http.ResponseWriter, r *http.Request) {
	req, id, execer, apiErr := s.checkExec(r, r.PathValue("id"))
	if apiErr != nil {
		api.WriteError(w, apiErr)
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
	resize := make(chan runtime.TermSize, 1)
	cfg := runtime.ExecConfig{Args: req.Command, TTY: req.TTY, Stdout: fw.Stream(api.FrameStdout), Stderr: fw.Stream(api.FrameStderr), Resize: resize}
	stdinR, stdinW := io.Pipe()
	defer stdinR.Close()
	if req.Stdin {
		cfg.Stdin = stdinR
	}
	// The client's going away ends the process (ctx), as a closed
	// terminal would. Closing conn ends this goroutine.
	go func() {
		defer cancel()
		readClientFrames(brw.Reader, stdinW, resize)
	}()
	s.log.Info("exec", "replica", r.PathValue("id"), "container", id, "command", req.Command[0], "tty", req.TTY)
	code, err := execer.Exec(ctx, id, cfg)
	exit := api.ExecExit{Code: code}
	if err != nil {
		exit.Error = err.Error()
	}
	_ = fw.Exit(exit)
}

// checkExec checks an exec request before the protocol switch: the
// command, the upgrade, a runtime that can exec and a replica that runs
// here with the container asked for, whose id it returns.
func (s *server) checkExec(r *http.Request, replicaID string) (api.ExecRequest, string, runtime.Execer, *api.Error) {
	req, err := api.ParseExecRequest(r.URL.Query())
	var we *api.Error
	if errors.As(err, &we) {
		return req, "", nil, we
	}
	if r.Header.Get("Upgrade") != api.ExecProtocol {
		return req, "", nil, &api.Error{Code: api.CodeInvalid, Message: "exec needs Upgrade: " + api.ExecProtocol, Status: http.StatusBadRequest}
	}
	execer, ok := s.runtime.(runtime.Execer)
	if !ok {
		return req, "", nil, &api.Error{Code: api.CodeInvalid, Message: "this node's runtime cannot exec", Status: http.StatusBadRequest}
	}
	id, ok := s.container(replicaID, req.Container)
	if !ok {
		msg := "replica " + replicaID + " does not run on this node"
		if _, runs := s.container(replicaID, ""); runs {
			msg = "replica " + replicaID + " has no container " + strconv.Quote(req.Container)
		}
		return req, "", nil, &api.Error{Code: api.CodeNotFound, Message: msg, Status: http.StatusNotFound}
	}
	return req, id, execer, nil
}

// readClientFrames copies the client's stdin frames to stdin (an empty
// one is its EOF) and its resize frames to resize, until the connection
// ends; stdin then ends with io.ErrUnexpectedEOF.
func readClientFrames(r *bufio.Reader, stdin *io.PipeWriter, resize chan runtime.TermSize) {
	for {
		typ, payload, err := api.ReadFrame(r)
		if err != nil {
			stdin.CloseWithError(io.ErrUnexpectedEOF)
			return
		}
		switch typ {
		case api.FrameStdin:
			if len(payload) == 0 {
				stdin.Close()
				continue
			}
			if _, err := stdin.Write(payload); err != nil && !errors.Is(err, io.ErrClosedPipe) {
				return
			}
		case api.FrameResize:
			if wd, ht, ok := api.ParseResize(payload); ok {
				offerSize(resize, runtime.TermSize{Width: wd, Height: ht})
			}
		}
	}
}

// offerSize queues sz for the terminal; a newer size replaces one not yet
// applied. Only one goroutine may offer.
func offerSize(resize chan runtime.TermSize, sz runtime.TermSize) {
	select {
	case resize <- sz:
	default:
		select {
		case <-resize:
		default:
		}
		resize <- sz
	}
}
