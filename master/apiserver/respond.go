package apiserver

import (
	"net/http"

	"github.com/orch-io/orch/master/endpoint"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

func writeError(w http.ResponseWriter, e *api.Error) { api.WriteError(w, e) }

// propose sends a command through Raft and writes an error answer when it
// fails; ok reports whether the caller should go on.
func (s *Server) propose(w http.ResponseWriter, r *http.Request, cmd *orchpb.Command) (*orchpb.CommandResult, bool) {
	res, err := s.deps.Proposer.Apply(r.Context(), cmd)
	if err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return nil, false
	}
	if e := endpoint.ResultError(res); e != nil {
		writeError(w, e)
		return nil, false
	}
	return res, true
}

// consistentRead waits for the read barrier unless ?stale=true.
func (s *Server) consistentRead(w http.ResponseWriter, r *http.Request) bool {
	if s.deps.ReadBarrier == nil || r.URL.Query().Get("stale") == "true" {
		return true
	}
	if err := s.deps.ReadBarrier(r.Context()); err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}

func writeMessage(w http.ResponseWriter, status int, m proto.Message) {
	body, err := api.Marshal(m)
	if err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return
	}
	writeJSON(w, status, body)
}

// writeList renders objects as one JSON array.
func writeList[T any](w http.ResponseWriter, items []T, marshal func(T) ([]byte, error)) {
	buf := []byte{'['}
	for i, it := range items {
		b, err := marshal(it)
		if err != nil {
			writeError(w, endpoint.ErrorOf(err))
			return
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, b...)
	}
	buf = append(buf, ']')
	writeJSON(w, http.StatusOK, buf)
}

func marshalMessage[T proto.Message](m T) ([]byte, error) { return api.Marshal(m) }
