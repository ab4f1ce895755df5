package apiserver

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/orch-io/orch/master/endpoint"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
)

// ExecSource opens an exec session in a replica on the agent that runs it.
// The returned connection speaks api.ExecProtocol; the master only copies
// it to and from the client.
type ExecSource interface {
	Exec(ctx context.Context, node *orchpb.Node, replica *orchpb.Replica, req api.ExecRequest) (io.ReadWriteCloser, error)
}

// replicaExec switches the client's connection to the exec stream and
// joins it to the agent's. Errors before the switch (no such replica, the
// agent refused) are ordinary JSON errors.
func (s *Server) replicaExec(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req, err := api.ParseExecRequest(q)
	if err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return
	}
	if r.Header.Get("Upgrade") != api.ExecProtocol {
		writeError(w, endpoint.BadRequest("", "exec needs an HTTP/1.1 connection upgrade to "+api.ExecProtocol))
		return
	}
	rep := s.findReplica(r.PathValue("id"), q.Get("namespace"))
	if rep == nil {
		writeError(w, endpoint.NotFound("replica "+r.PathValue("id")+" not found"))
		return
	}
	node := s.deps.Store.Node(rep.GetNode())
	if node == nil || rep.Observed() != orchpb.ReplicaRunning && rep.Observed() != orchpb.ReplicaUnhealthy && rep.Observed() != orchpb.ReplicaStarting {
		writeError(w, &api.Error{Code: api.CodeConflict, Message: "replica " + rep.DisplayName() + " is " + rep.GetState() + ", not running", Status: http.StatusConflict})
		return
	}
	container, apiErr := containerOf(rep, req.Container)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	req.Container = container
	if s.deps.Exec == nil {
		writeError(w, endpoint.NotFound("exec is not available on this master"))
		return
	}
	release, ok := s.openStream(w, r)
	if !ok {
		return
	}
	defer release()
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	upstream, err := s.deps.Exec.Exec(ctx, node, rep, req)
	if err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return
	}
	defer upstream.Close()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		writeError(w, &api.Error{Code: api.CodeInternal, Message: "exec: " + err.Error(), Status: http.StatusInternalServerError})
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+api.ExecProtocol+"\r\n\r\n"); err != nil {
		return
	}
	s.log.Info("exec", "replica", rep.DisplayName(), "node", node.GetName(), "command", req.Command[0])
	// Copy both ways; either side ending ends the session.
	var once sync.Once
	closeBoth := func() { once.Do(func() { conn.Close(); upstream.Close() }) }
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(upstream, brw.Reader)
		closeBoth()
	}()
	_, _ = io.Copy(conn, upstream)
	closeBoth()
	<-done
}
