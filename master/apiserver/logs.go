package apiserver

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/orch-io/orch/master/endpoint"

	orchpb "github.com/orch-io/orch/proto"
)

// LogSource fetches a replica's output from the agent that runs it.
type LogSource interface {
	// container names one of the replica's containers; "" is the main one.
	Logs(ctx context.Context, node *orchpb.Node, replica *orchpb.Replica, container string, follow bool, tail int) (io.ReadCloser, error)
}

func (s *Server) replicaLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rep := s.findReplica(r.PathValue("id"), q.Get("namespace"))
	if rep == nil {
		writeError(w, endpoint.NotFound("replica "+r.PathValue("id")+" not found"))
		return
	}
	node := s.deps.Store.Node(rep.GetNode())
	if node == nil {
		writeError(w, endpoint.NotFound("replica "+rep.DisplayName()+" is not placed on a node, so it has no logs"))
		return
	}
	tail := -1
	if v := q.Get("tail"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, endpoint.BadRequest("tail", "tail: want a number >= 0, got "+strconv.Quote(v)))
			return
		}
		tail = n
	}
	follow := q.Get("follow") == "true" || q.Get("follow") == "1"
	if s.deps.Logs == nil {
		writeError(w, endpoint.NotFound("logs are not available on this master"))
		return
	}
	if follow {
		release, ok := s.openStream(w, r)
		if !ok {
			return
		}
		defer release()
	}
	container, apiErr := containerOf(rep, q.Get("container"))
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	body, err := s.deps.Logs.Logs(r.Context(), node, rep, container, follow, tail)
	if err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	buf := make([]byte, 32*1024)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}
